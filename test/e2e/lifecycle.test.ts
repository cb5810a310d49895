// Lifecycle on the runtimes that run as processes (Node, Deno): the generated admin token, SIGTERM, restarts,
// crashes, and one data format shared by the Node and Deno stores.
import { spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openKv } from "@deno/kv";
import { describe, expect, inject, it } from "vitest";
import "./s3-target.ts";
import { TEST_ENCRYPTION_KEY } from "../sealer.ts";
import { apiClient, ROOT, startService, tempDataDir } from "./service.ts";

const s3 = inject("s3");
// Both make and keep their own encryption key in the data folder; this is what the first test starts with.
const keyEnv = (_runtime: "node" | "deno") => ({});
const accountYaml = `region: ${s3.region}\nhost: "${s3.host}"\npath-style: true\nuse-ssl: false\naccess-key-id: ${s3.accessKeyId}\nsecret-access-key: "${s3.secretAccessKey}"\n`;

describe.each(["node", "deno"] as const)("%s", (runtime) => {
  it("generates a 256-bit admin token at first start, prints it once, keeps it (0600), and reuses it after SIGTERM", async () => {
    const [dataDir, remove] = tempDataDir(`token-${runtime}`);
    try {
      const first = await startService(runtime, { dataDir, env: keyEnv(runtime) });
      const token = first.printedToken!;
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(first.stderr().split(token).length - 1).toBe(1);
      expect(statSync(join(dataDir, "admin-token")).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dataDir, "encryption-key")).mode & 0o777).toBe(0o600);
      const api = apiClient(first.url, token);
      expect((await api("PUT", "/AwsAccount/kept", accountYaml)).status).toBe(201);
      expect(await first.stop()).toBe(0);
      expect(first.stderr()).toContain('"message":"stopping","signal":"SIGTERM"');

      const second = await startService(runtime, { dataDir, env: keyEnv(runtime) });
      try {
        expect(second.printedToken).toBeUndefined();
        expect(second.stderr()).not.toContain(token);
        const again = apiClient(second.url, token);
        const account = await again("GET", "/AwsAccount/kept");
        expect(account.status).toBe(200);
        expect(account.json()).toMatchObject({ id: "kept", host: s3.host, meta: { versionId: "1" } });
        const key = `lifecycle/${runtime}/${Date.now()}.txt`;
        const put = await again("POST", `/aws/storage/kept/${s3.bucket}`, `filename: ${key}`);
        expect((await fetch(put.json().url, { method: "PUT", body: "still here" })).status).toBe(200);
        const get = await again("GET", `/aws/storage/kept/${s3.bucket}/${key}`);
        expect(await (await fetch(get.json().url)).text()).toBe("still here");
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      remove();
    }
  });

  it("keeps the database private (0600, -wal and -shm too) in a data folder that already existed, and warns that it is open", async () => {
    const [dataDir, remove] = tempDataDir(`modes-${runtime}`);
    try {
      chmodSync(dataDir, 0o755); // as a mounted volume may be
      const env = { SIGNPOST_ADMIN_TOKEN: "modes-test-admin-token-0123456789", SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };
      const service = await startService(runtime, { dataDir, env });
      try {
        expect((await apiClient(service.url, env.SIGNPOST_ADMIN_TOKEN)("PUT", "/AwsAccount/modes", accountYaml)).status).toBe(201);
        for (const file of ["accounts.kv", "accounts.kv-wal", "accounts.kv-shm"]) {
          expect((statSync(join(dataDir, file)).mode & 0o777).toString(8), file).toBe("600");
        }
        expect(service.stderr()).toMatch(/"level":"warn","message":"the data folder is open to other users: chmod 700 it"/);
      } finally {
        expect(await service.stop()).toBe(0);
      }
    } finally {
      remove();
    }
  });

  /** Starts signpost as its users do and waits for it to stop by itself; resolves with its exit code and stderr. */
  const failedStart = (env: Record<string, string>, dataDir: string) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const task: string = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).tasks.start;
      // Its own process group: a start that does not fail (the code before a fix) is stopped whole, npm's child too.
      const child = runtime === "node"
        ? spawn("npm", ["start", "--silent"], { cwd: ROOT, env: { ...process.env, SIGNPOST_DATA_DIR: dataDir, ...env }, detached: true })
        : spawn("sh", ["-c", `exec ${task}`], { cwd: ROOT, env: { ...process.env, SIGNPOST_DATA_DIR: dataDir, NO_COLOR: "1", ...env }, detached: true });
      let stderr = "";
      child.stderr!.on("data", (chunk) => (stderr += chunk));
      const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 30_000);
      child.once("exit", (code) => (clearTimeout(timer), resolve({ code, stderr })));
    });
  /** `npm run signpost -- ...` as a user runs it. */
  const cli = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn("npm", ["run", "--silent", "signpost", "--", ...args], { cwd: ROOT, env: { ...process.env, SIGNPOST_DATABASE_URL: "", ...env } });
      let stderr = "";
      child.stderr!.on("data", (chunk) => (stderr += chunk));
      child.stdin!.end();
      child.once("exit", (code) => resolve({ code, stderr }));
    });
  const expectOneLine = (stderr: string, pattern: RegExp) => {
    const lines = stderr.trim().split("\n").filter((line) => line.includes('"failed to start"'));
    expect(lines, stderr).toHaveLength(1);
    expect(JSON.parse(lines[0]!).error).toMatch(pattern);
    expect(stderr).not.toMatch(/^\s+at /m); // no stack trace
  };

  it("stops with one line naming the setting: a bad PORT, a busy port, a bad cache time", async () => {
    const [dataDir, remove] = tempDataDir(`settings-${runtime}`);
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    try {
      const token = { SIGNPOST_ADMIN_TOKEN: "settings-admin-token-0123456789" };
      const abc = await failedStart({ ...token, PORT: "abc", HOST: "127.0.0.1" }, dataDir);
      expect(abc.code).toBe(1);
      expectOneLine(abc.stderr, /^PORT must be a whole number from 0 to 65535/);
      const inUse = await failedStart({ ...token, PORT: String((busy.address() as { port: number }).port), HOST: "127.0.0.1" }, dataDir);
      expect(inUse.code).toBe(1);
      expectOneLine(inUse.stderr, /^port \d+ on 127\.0\.0\.1 is in use: set PORT/);
      const cache = await failedStart({ ...token, PORT: "0", SIGNPOST_ACCOUNT_CACHE_MS: "5s" }, dataDir);
      expectOneLine(cache.stderr, /^SIGNPOST_ACCOUNT_CACHE_MS must be a whole number/);
    } finally {
      busy.close();
      remove();
    }
  });

  it("stops rather than serve secrets it cannot open: started with another key than its data folder is sealed with, or with none left; replace-lost-key for a key that is lost (a review, 2026-12-02)", async () => {
    const [dataDir, remove] = tempDataDir(`sealed-${runtime}`);
    const otherKey = `other:${btoa("another-32-byte-encryption-key!!")}`;
    try {
      const env = { SIGNPOST_ADMIN_TOKEN: "sealed-test-admin-token-0123456789", SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };
      const first = await startService(runtime, { dataDir, env });
      expect((await apiClient(first.url, env.SIGNPOST_ADMIN_TOKEN)("PUT", "/AwsAccount/sealed", accountYaml)).status).toBe(201);
      expect(await first.stop()).toBe(0);
      const refusals = async () => {
        // Another key: before, the server started and refused every URL of the account (its secret did not open).
        const other = await failedStart({ ...env, PORT: "0", SIGNPOST_ENCRYPTION_KEY: otherKey }, dataDir);
        expect(other.code).toBe(1);
        expectOneLine(other.stderr, /^the encryption key \(SIGNPOST_ENCRYPTION_KEY\) does not match the data folder's: .*sealed-[\w-]+ (is|are) sealed with key id "test", which this key does not have; set SIGNPOST_ENCRYPTION_KEY to that key/);
        // No key at all (the variable left out, none kept in the folder): no new key, nor admin token, is made.
        const none = await failedStart({ PORT: "0", SIGNPOST_ADMIN_TOKEN: "", SIGNPOST_ENCRYPTION_KEY: "" }, dataDir);
        expect(none.code).toBe(1);
        expectOneLine(none.stderr, /^the secrets in .*sealed-[\w-]+ are sealed with key id "test", and there is no key to open them: set SIGNPOST_ENCRYPTION_KEY to that key, or put it back in .*encryption-key; for a key that is lost, see "npm run signpost -- replace-lost-key"$/);
        expect(readdirSync(dataDir).filter((name) => !name.startsWith("accounts.kv"))).toEqual([]);
      };
      await refusals();
      // A folder from before the check (none recorded): the account's sealed secret is what a key must open.
      const kv = await openKv(join(dataDir, "accounts.kv"));
      await kv.delete(["SealingKey", "active"]);
      kv.close();
      await refusals();

      // The key put back in the folder: the start reads it and the secret opens.
      writeFileSync(join(dataDir, "encryption-key"), `${TEST_ENCRYPTION_KEY}\n`, { mode: 0o600 });
      const again = await startService(runtime, { dataDir, env: { SIGNPOST_ADMIN_TOKEN: env.SIGNPOST_ADMIN_TOKEN, SIGNPOST_ENCRYPTION_KEY: "" } });
      const url = async (service: { url: string }) => apiClient(service.url, env.SIGNPOST_ADMIN_TOKEN)("POST", `/aws/storage/sealed/${s3.bucket}`, `filename: lifecycle/sealed/${runtime}-${Date.now()}.txt`);
      try {
        const put = await url(again);
        expect(put.status, put.text).toBe(200);
        expect((await fetch(put.json().url, { method: "PUT", body: "opened with the key put back" })).status).toBe(200);
      } finally {
        expect(await again.stop()).toBe(0);
      }

      // A key that is not lost is not replaced: the one the folder keeps opens it; another variable disagrees with it.
      const notLost = await cli(["replace-lost-key"], { SIGNPOST_DATA_DIR: dataDir, SIGNPOST_ENCRYPTION_KEY: "" });
      expect(notLost.code, notLost.stderr).toBe(2);
      expect(notLost.stderr).toContain(`is not lost: what it is sealed with opens with the key from ${join(dataDir, "encryption-key")}`);
      const disagrees = await cli(["replace-lost-key"], { SIGNPOST_DATA_DIR: dataDir, SIGNPOST_ENCRYPTION_KEY: otherKey });
      expect(disagrees.code, disagrees.stderr).toBe(2);
      expect(disagrees.stderr).toContain('SIGNPOST_ENCRYPTION_KEY (key id "other") is not the key the data folder keeps in');
      // The key lost for good: the folder is given a new one, and the account to PUT again is named.
      rmSync(join(dataDir, "encryption-key"));
      const replaced = await cli(["replace-lost-key"], { SIGNPOST_DATA_DIR: dataDir, SIGNPOST_ENCRYPTION_KEY: otherKey });
      expect(replaced.code, replaced.stderr).toBe(0);
      expect(replaced.stderr).toContain(`is now sealed with key id "other" (from SIGNPOST_ENCRYPTION_KEY; "test" is retired)`);
      expect(replaced.stderr).toContain("AwsAccount/sealed holds a secret that does not open with it: PUT it again with its secret");
      const renewed = await startService(runtime, { dataDir, env: { ...env, SIGNPOST_ENCRYPTION_KEY: otherKey } });
      try {
        expect((await url(renewed)).status).toBe(503); // until the account is stored again
        expect((await apiClient(renewed.url, env.SIGNPOST_ADMIN_TOKEN)("PUT", "/AwsAccount/sealed", accountYaml)).status).toBe(200);
        expect((await url(renewed)).status).toBe(200);
      } finally {
        expect(await renewed.stop()).toBe(0);
      }
      // And the old key, found again, is not taken back: the folder moved away from it.
      expectOneLine((await failedStart({ ...env, PORT: "0" }, dataDir)).stderr, /does not match the data folder's: .* is sealed with key id "other"/);
    } finally {
      remove();
    }
  });

  it("refuses a data folder other users can write to: one could plant the admin token or the encryption key (a review, 2026-12-01)", async () => {
    const [dataDir, remove] = tempDataDir(`planted-${runtime}`);
    try {
      chmodSync(dataDir, 0o777);
      writeFileSync(join(dataDir, "admin-token"), "planted-admin-token-0123456789\n", { mode: 0o644 });
      const planted = await failedStart({ PORT: "0", SIGNPOST_ADMIN_TOKEN: "", SIGNPOST_ENCRYPTION_KEY: "" }, dataDir);
      expect(planted.code).toBe(1);
      expectOneLine(planted.stderr, /^the data folder .* is writable by every user \(mode 777\): chmod 700 it, or set SIGNPOST_DATA_DIR to a folder of signpost's own that other users cannot write to, nor the folders above it/);
      expect(readdirSync(dataDir)).toEqual(["admin-token"]); // nothing read, nothing made
      // Nor one another user owns, whatever its mode (its owner may write there). Needs root to give it away.
      if (process.getuid?.() === 0) { // Deno knows its uid with --allow-sys=uid, which deno task start grants
        chmodSync(dataDir, 0o755);
        chownSync(dataDir, 65534, 65534);
        const owned = await failedStart({ PORT: "0", SIGNPOST_ADMIN_TOKEN: "", SIGNPOST_ENCRYPTION_KEY: "" }, dataDir);
        expectOneLine(owned.stderr, /^the data folder .* belongs to another user \(uid 65534\): chown it/);
        chownSync(dataDir, 0, 0);
      }
      // A folder the group may write to (a Kubernetes volume with an fsGroup) is warned about, not refused.
      chmodSync(dataDir, 0o2770);
      const env = { SIGNPOST_ADMIN_TOKEN: "group-test-admin-token-0123456789", SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };
      const service = await startService(runtime, { dataDir, env });
      expect(service.stderr()).toMatch(/"level":"warn","message":"the data folder is open to other users: chmod 700 it"/);
      expect(await service.stop()).toBe(0);
    } finally {
      remove();
    }
  });

  it("refuses a data folder inside one that every user can write to without the sticky bit: another user could swap in a folder with their own admin token (an attack, 2026-12-01)", async () => {
    const [outer, remove] = tempDataDir(`above-${runtime}`);
    try {
      chmodSync(outer, 0o777); // a Kubernetes emptyDir's mode
      const dataDir = join(outer, "signpost");
      const env = { PORT: "0", SIGNPOST_ADMIN_TOKEN: "", SIGNPOST_ENCRYPTION_KEY: "" };
      if (runtime === "node") {
        const refused = await failedStart(env, dataDir);
        expect(refused.code).toBe(1);
        expectOneLine(refused.stderr, /^the folder .*above-node-\w+ above the data folder is writable by every user without the sticky bit \(mode 777\): another user could put a data folder of their own/);
        expect(existsSync(join(dataDir, "admin-token"))).toBe(false); // nothing read, nothing made
        // Through a link too: the start resolves it once, then judges and uses the real path.
        const link = join(tmpdir(), `signpost-link-${process.pid}`);
        symlinkSync(outer, link);
        try {
          expectOneLine((await failedStart(env, join(link, "signpost"))).stderr, /^the folder .*above-node-\w+ above the data folder is writable by every user without the sticky bit/);
        } finally {
          rmSync(link);
        }
      }
      // With the sticky bit (as /tmp has) nobody else may rename signpost's folder: it starts. Deno is not allowed to
      // read the folders above its own, so it starts either way (the README says so).
      chmodSync(outer, 0o1777);
      const service = await startService(runtime, { dataDir, env: { SIGNPOST_ADMIN_TOKEN: "sticky-test-admin-token-0123456789", SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } });
      expect(await service.stop()).toBe(0);
      if (runtime === "node") {
        // Named through a link (which another user could swap later), it is used by its real path, resolved once.
        const link = join(tmpdir(), `signpost-real-${process.pid}`);
        symlinkSync(dataDir, link);
        try {
          const linked = await startService(runtime, { dataDir: link, env: { SIGNPOST_ADMIN_TOKEN: "sticky-test-admin-token-0123456789", SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } });
          expect(JSON.parse(linked.stderr().split("\n").find((line) => line.includes('"listening"'))!).dataDir).toBe(realpathSync(dataDir));
          expect(await linked.stop()).toBe(0);
        } finally {
          rmSync(link);
        }
      }
    } finally {
      remove();
    }
  });

  it("stops cleanly (exit 0) on a SIGTERM sent the moment it says it is listening, every time (Deno died of it, exit 143, about one start in ten under load)", { timeout: 120_000 }, async () => {
    const [dataDir, remove] = tempDataDir(`sigterm-${runtime}`);
    try {
      const env = { SIGNPOST_ADMIN_TOKEN: "sigterm-test-admin-token-0123456789", SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };
      const codes: (number | null)[] = [];
      for (let i = 0; i < 12; i++) codes.push(await (await startService(runtime, { dataDir, env })).stop());
      expect(codes).toEqual(Array(12).fill(0));
    } finally {
      remove();
    }
  });

  it("keeps every acknowledged write when killed with SIGKILL mid-write", async () => {
    const [dataDir, remove] = tempDataDir(`crash-${runtime}`);
    const env = { SIGNPOST_ADMIN_TOKEN: "crash-test-admin-token-0123456789", SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };
    let service = await startService(runtime, { dataDir, env });
    try {
      const api = apiClient(service.url, env.SIGNPOST_ADMIN_TOKEN);
      const acknowledged: string[] = [];
      let stop = false;
      // Four writers in parallel; the process is killed while they run.
      const writers = Array.from({ length: 4 }, async (_, writer) => {
        for (let i = 0; !stop; i++) {
          const id = `w${writer}-${i}`;
          try {
            const response = await api("PUT", `/AwsAccount/${id}`, `region: us-east-1\nhost: "h${i}.example.com"`);
            if (response.status === 201) acknowledged.push(id);
          } catch {
            return; // connection refused or reset: the process is gone
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 700));
      await service.crash();
      stop = true;
      await Promise.all(writers);
      expect(acknowledged.length).toBeGreaterThan(10);

      service = await startService(runtime, { dataDir, env });
      const list = await apiClient(service.url, env.SIGNPOST_ADMIN_TOKEN)("GET", "/AwsAccount");
      expect(list.status).toBe(200);
      const stored = new Map(list.json().entry.map((e: { resource: { id: string; host: string } }) => [e.resource.id, e.resource.host]));
      for (const id of acknowledged) expect(stored.get(id), id).toBe(`h${id.split("-")[1]}.example.com`);
    } finally {
      await service.stop();
      remove();
    }
  });
});

describe("Node and Deno share one data folder", () => {
  it("take turns with the admin token and encryption key kept there, whichever made them", async () => {
    const [dataDir, remove] = tempDataDir("turns");
    try {
      const node = await startService("node", { dataDir, env: {} });
      const token = node.printedToken!;
      expect((await apiClient(node.url, token)("PUT", "/AwsAccount/sealed", accountYaml)).status).toBe(201);
      await node.stop();
      // Deno, given neither: it reads the token and the key Node made, and opens the sealed secret with it.
      const deno = await startService("deno", { dataDir, env: {} });
      try {
        expect(deno.printedToken).toBeUndefined();
        expect(deno.stderr()).toContain('"message":"SIGNPOST_ENCRYPTION_KEY read from file"');
        const api = apiClient(deno.url, token);
        const key = `lifecycle/turns/${Date.now()}.txt`;
        const put = await api("POST", `/aws/storage/sealed/${s3.bucket}`, `filename: ${key}`);
        expect(put.status, put.text).toBe(200);
        expect((await fetch(put.json().url, { method: "PUT", body: "sealed by Node, opened by Deno" })).status).toBe(200);
      } finally {
        await deno.stop();
      }
    } finally {
      remove();
    }
  });

  it("Deno without a permission it needs at start says so in one line", async () => {
    const [dataDir, remove] = tempDataDir("deno-permission");
    try {
      // The server run directly without --allow-write: it cannot make its data folder's files.
      const child = spawn(join(ROOT, "node_modules/.bin/deno"), ["run", "--no-prompt", "--allow-net", "--allow-env", `--allow-read=${dataDir}`, "src/runtime/deno.ts"], {
        cwd: ROOT, env: { ...process.env, SIGNPOST_DATA_DIR: dataDir, SIGNPOST_ADMIN_TOKEN: "permission-admin-token-0123456789", PORT: "0", NO_COLOR: "1" },
      });
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      expect(code).toBe(1);
      const lines = stderr.trim().split("\n");
      expect(lines, stderr).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ message: "failed to start", error: expect.stringMatching(/Requires write access.*deno task start/) });
    } finally {
      remove();
    }
  });
});

describe("the Docker image's health check", () => {
  it("passes against a running server and fails once it is gone", async () => {
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8").replace(/\\\n\s*/g, "");
    const command = JSON.parse(/^HEALTHCHECK .*?CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    const [dataDir, remove] = tempDataDir("healthcheck");
    const service = await startService("node", { dataDir, env: { SIGNPOST_ADMIN_TOKEN: "healthcheck-admin-token-0123456789" } });
    const port = new URL(service.url).port;
    const check = () => new Promise<number | null>((resolve) => spawn(command[0]!, command.slice(1), { env: { ...process.env, PORT: port } }).once("exit", resolve));
    try {
      expect(await check()).toBe(0);
      await service.stop();
      expect(await check()).toBe(1);
    } finally {
      await service.stop();
      remove();
    }
  });
});

describe("Node and Deno share one store format", () => {
  it("reads on Deno what Node wrote, and on Node what Deno wrote", async () => {
    const [dataDir, remove] = tempDataDir("shared");
    const env = { SIGNPOST_ADMIN_TOKEN: "shared-store-admin-token-0123456789", SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };
    try {
      const node = await startService("node", { dataDir, env });
      expect((await apiClient(node.url, env.SIGNPOST_ADMIN_TOKEN)("PUT", "/AwsAccount/from-node", accountYaml)).status).toBe(201);
      await node.stop();

      const deno = await startService("deno", { dataDir, env });
      const denoApi = apiClient(deno.url, env.SIGNPOST_ADMIN_TOKEN);
      expect((await denoApi("GET", "/AwsAccount/from-node")).json()).toMatchObject({ id: "from-node", host: s3.host });
      expect((await denoApi("PUT", "/AwsAccount/from-deno", accountYaml)).status).toBe(201);
      await deno.stop();

      const nodeAgain = await startService("node", { dataDir, env });
      const ids = (await apiClient(nodeAgain.url, env.SIGNPOST_ADMIN_TOKEN)("GET", "/AwsAccount")).json().entry.map((e: { resource: { id: string } }) => e.resource.id);
      expect(ids).toEqual(["from-deno", "from-node"]);
      await nodeAgain.stop();
    } finally {
      remove();
    }
  });
});
