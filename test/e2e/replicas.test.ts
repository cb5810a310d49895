// Scale-out on Node: two `npm start` replicas on one PostgreSQL (a throw-away cluster, test/postgres.ts), each with
// its account and client caches on. What one writes the other uses at once (RGW honours the URL); a client deleted
// or a secret rotated through one is refused by the other within 100 ms (LISTEN/NOTIFY; measured and printed); a
// database restart in the middle gives clean 503s, and both recover by themselves; a pg_dump holds no secret.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import "./s3-target.ts";
import { TEST_ENCRYPTION_KEY } from "../sealer.ts";
import { startPostgres, type TestPostgres } from "../postgres.ts";
import { apiClient, ROOT, type RunningService, startService, tempDataDir } from "./service.ts";

const s3 = inject("s3");
const ADMIN = "replicas-admin-token-0123456789abcdef";
const accountYaml = `region: ${s3.region}\nhost: "${s3.host}"\npath-style: true\nuse-ssl: false\naccess-key-id: ${s3.accessKeyId}\nsecret-access-key: "${s3.secretAccessKey}"\n`;
// Download URLs: a client's upload URLs need a role to narrow them to it on RGW (README, Security model).
const clientYaml = (account: string) => `policy:\n  operations: [download]\n  accounts: [${account}]\n`;

let pg: TestPostgres;
let database: string;
let one: RunningService;
let two: RunningService;
const removals: (() => void)[] = [];

const replica = async (runtime: "node" | "deno" = "node") => {
  const [dataDir, remove] = tempDataDir("replica");
  removals.push(remove);
  return startService(runtime, { dataDir, env: { SIGNPOST_DATABASE_URL: database, SIGNPOST_ADMIN_TOKEN: ADMIN, SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } });
};

/** As a client calls signpost with its secret. */
const asClient = (service: RunningService, secret: string) => (path: string, body?: string) =>
  fetch(`${service.url}${path}`, { method: body === undefined ? "GET" : "POST", headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { "content-type": "text/yaml" }) }, body });

/** Milliseconds until `check` holds, trying as fast as requests go; fails past `limit`. */
async function within(limit: number, check: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > limit) throw new Error(`not within ${limit} ms`);
  }
}

beforeAll(async () => {
  pg = await startPostgres();
  database = await pg.database();
  [one, two] = await Promise.all([replica(), replica()]); // two starting together: one makes the schema
});

afterAll(async () => {
  await Promise.all([one?.stop(), two?.stop()]);
  await pg?.destroy();
  for (const remove of removals) remove();
});

describe("two Node replicas on one PostgreSQL", () => {
  it("start together on an empty database, each naming the database without its password", () => {
    for (const service of [one, two]) {
      expect(service.stderr()).toMatch(/"message":"listening","url":"[^"]+","database":"postgres:\/\/signpost@127\.0\.0\.1:\d+\/\w+"/);
      expect(service.stderr()).not.toContain(pg.password);
    }
  });

  it("an account written through one signs at once through the other, and RGW honours the URL", async () => {
    const [a, b] = [apiClient(one.url, ADMIN), apiClient(two.url, ADMIN)];
    // The other replica has looked it up (and keeps "absent" in its cache) before it exists.
    expect((await b("GET", "/AwsAccount/shared")).status).toBe(404);
    expect((await b("POST", `/aws/storage/shared/${s3.bucket}`, "filename: x")).status).toBe(404);
    expect((await a("PUT", "/AwsAccount/shared", accountYaml)).status).toBe(201);
    let upload: { url: string } | undefined;
    const ms = await within(100, async () => {
      const answer = await b("POST", `/aws/storage/shared/${s3.bucket}`, "filename: replicas/one.txt");
      if (answer.status === 200) upload = answer.json();
      return answer.status === 200;
    });
    console.log(`[replicas] an account created through one replica signed through the other after ${ms.toFixed(1)} ms`);
    expect((await fetch(upload!.url, { method: "PUT", body: "from two replicas" })).status).toBe(200);
    const download = await a("GET", `/aws/storage/shared/${s3.bucket}/replicas/one.txt`);
    expect(await (await fetch(download.json().url)).text()).toBe("from two replicas");
    // A replaced account too: a host the other replica must now sign for.
    expect((await a("PATCH", "/AwsAccount/shared", JSON.stringify({ "path-style": true, region: "eu-west-1" }), "application/merge-patch+json")).status).toBe(200);
    await within(100, async () => (await b("GET", "/AwsAccount/shared")).json().region === "eu-west-1");
    expect((await a("PATCH", "/AwsAccount/shared", JSON.stringify({ region: s3.region }), "application/merge-patch+json")).status).toBe(200);
  });

  it("a client deleted through one is refused by the other within 100 ms; a rotated secret too", async () => {
    const a = apiClient(one.url, ADMIN);
    const created = await a("PUT", "/Client/revoked", clientYaml("shared"));
    expect(created.status).toBe(201);
    const secret: string = created.json().secret;
    const onTwo = asClient(two, secret);
    expect((await onTwo(`/aws/storage/shared/${s3.bucket}/c.txt`)).status).toBe(200); // cached on two now
    expect((await onTwo(`/aws/storage/shared/${s3.bucket}/c.txt`)).status).toBe(200);
    expect((await a("DELETE", "/Client/revoked")).status).toBe(200);
    const deleted = await within(100, async () => (await onTwo(`/aws/storage/shared/${s3.bucket}/c.txt`)).status === 401);
    console.log(`[replicas] a client deleted through one replica was refused by the other after ${deleted.toFixed(1)} ms`);

    const rotating = await a("PUT", "/Client/rotating", clientYaml("shared"));
    const old: string = rotating.json().secret;
    expect((await asClient(two, old)(`/aws/storage/shared/${s3.bucket}/r.txt`)).status).toBe(200);
    const fresh: string = (await a("POST", "/Client/rotating/$rotate-secret")).json().secret;
    const rotated = await within(100, async () => (await asClient(two, old)(`/aws/storage/shared/${s3.bucket}/r.txt`)).status === 401);
    expect((await asClient(two, fresh)(`/aws/storage/shared/${s3.bucket}/r.txt`)).status).toBe(200);
    console.log(`[replicas] a rotated secret was refused by the other replica after ${rotated.toFixed(1)} ms`);
    expect(deleted).toBeLessThan(100);
  });

  it("a database restart in the middle: cached reads go on, writes answer 503 with the reason, and both recover by themselves", async () => {
    const [a, b] = [apiClient(one.url, ADMIN), apiClient(two.url, ADMIN)];
    const created = await a("PUT", "/Client/during-outage", clientYaml("shared"));
    const secret: string = created.json().secret;
    // In use on both (so fresh in both caches) just before the database goes away.
    for (const service of [one, two]) expect((await asClient(service, secret)(`/aws/storage/shared/${s3.bucket}/o.txt`)).status).toBe(200);
    await pg.stop();
    try {
      for (const service of [one, two]) {
        const signed = await asClient(service, secret)(`/aws/storage/shared/${s3.bucket}/replicas/one.txt`);
        expect(signed.status).toBe(200);
        if (service === one) expect(await (await fetch((await signed.json()).url)).text()).toBe("from two replicas");
      }
      for (const [api, path, method, body] of [[a, "/AwsAccount/other", "PUT", accountYaml], [b, "/Client/new-one", "PUT", clientYaml("shared")], [b, "/AwsAccount/not-cached", "GET", undefined], [a, "/Client", "GET", undefined]] as const) {
        const answer = await api(method, path, body);
        expect(answer.status, `${method} ${path}`).toBe(503);
        expect(answer.json()).toMatchObject({ resourceType: "OperationOutcome", issue: [{ severity: "error", code: "transient" }] });
        expect(answer.json().issue[0].diagnostics).toMatch(/^the database \(PostgreSQL\) is unavailable: .*(connection refused|ECONNREFUSED|CONNECTION|57P)/);
        expect(answer.text).not.toContain(pg.password);
      }
    } finally {
      await pg.start();
    }
    // Back: writes through either replica, and each hears the other's again (the listener reconnected).
    const back = await within(15_000, async () => (await a("PUT", "/AwsAccount/other", accountYaml)).status === 201);
    console.log(`[replicas] writes worked again ${back.toFixed(0)} ms after the database was back`);
    await within(15_000, async () => (await b("PUT", "/Client/new-one", clientYaml("shared"))).status === 201);
    const newOne: string = (await b("POST", "/Client/new-one/$rotate-secret")).json().secret;
    expect((await asClient(one, newOne)(`/aws/storage/shared/${s3.bucket}/n.txt`)).status).toBe(200);
    for (const [writer, reader] of [[b, one], [a, two]] as const) {
      // The listener may still be on its way back: the revocation is seen at once from when it is.
      await within(15_000, async () => {
        const probe = await writer("PUT", "/Client/probe", clientYaml("shared"));
        const probeSecret: string = probe.json().secret ?? (await writer("POST", "/Client/probe/$rotate-secret")).json().secret;
        if ((await asClient(reader, probeSecret)(`/aws/storage/shared/${s3.bucket}/p.txt`)).status !== 200) return false;
        await writer("DELETE", "/Client/probe");
        return (await within(1000, async () => (await asClient(reader, probeSecret)(`/aws/storage/shared/${s3.bucket}/p.txt`)).status === 401).catch(() => Infinity)) < 100;
      });
    }
    for (const service of [one, two]) {
      expect((await fetch(`${service.url}/health`)).status).toBe(200); // still running: nothing crashed
      expect(`${service.stdout()}${service.stderr()}`).not.toContain(pg.password);
      expect(service.stderr()).not.toContain("unexpected error");
    }
  });

  it("a pg_dump holds every secret sealed, none in the clear", async () => {
    const a = apiClient(one.url, ADMIN);
    const client = await a("PUT", "/Client/dumped", clientYaml("shared"));
    const dump = await pg.dump(database);
    expect(dump).toContain("signpost_resources");
    expect(dump).toMatch(/"secret-access-key":"sealed:v1:test:/);
    for (const secret of [s3.secretAccessKey, client.json().secret, ADMIN, TEST_ENCRYPTION_KEY.split(":")[1]!, pg.password]) expect(dump).not.toContain(secret);
  });

  it("a Deno replica (deno task start, the same client library) joins them: same accounts, revocations seen both ways", async () => {
    const deno = await replica("deno");
    try {
      expect(deno.stderr()).toMatch(/"message":"listening","url":"[^"]+","database":"postgres:\/\/signpost@/);
      const [a, d] = [apiClient(one.url, ADMIN), apiClient(deno.url, ADMIN)];
      const signed = await d("GET", `/aws/storage/shared/${s3.bucket}/replicas/one.txt`);
      expect(await (await fetch(signed.json().url)).text()).toBe("from two replicas");
      const secret: string = (await d("PUT", "/Client/from-deno", clientYaml("shared"))).json().secret;
      expect((await asClient(one, secret)(`/aws/storage/shared/${s3.bucket}/replicas/one.txt`)).status).toBe(200);
      expect((await asClient(deno, secret)(`/aws/storage/shared/${s3.bucket}/replicas/one.txt`)).status).toBe(200);
      expect((await d("DELETE", "/Client/from-deno")).status).toBe(200);
      const onNode = await within(100, async () => (await asClient(one, secret)(`/aws/storage/shared/${s3.bucket}/replicas/one.txt`)).status === 401);
      const back = (await a("PUT", "/Client/from-node", clientYaml("shared"))).json().secret as string;
      expect((await asClient(deno, back)(`/aws/storage/shared/${s3.bucket}/replicas/one.txt`)).status).toBe(200);
      expect((await a("DELETE", "/Client/from-node")).status).toBe(200);
      const onDeno = await within(100, async () => (await asClient(deno, back)(`/aws/storage/shared/${s3.bucket}/replicas/one.txt`)).status === 401);
      console.log(`[replicas] Deno → Node revocation ${onNode.toFixed(1)} ms, Node → Deno ${onDeno.toFixed(1)} ms`);
    } finally {
      expect(await deno.stop()).toBe(0);
    }
  });

  it("a replica refuses to start, in one line without the password, with no shared key, another key, or no database", async () => {
    const failedStart = (env: Record<string, string>) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn("npm", ["start", "--silent"], { cwd: ROOT, env: { ...process.env, PORT: "0", SIGNPOST_ADMIN_TOKEN: "", SIGNPOST_ENCRYPTION_KEY: "", ...env } });
        let stderr = "";
        child.stderr.on("data", (chunk) => (stderr += chunk));
        child.on("exit", (code) => resolve({ code, stderr }));
      });
    const cases: [Record<string, string>, RegExp][] = [
      [{ SIGNPOST_DATABASE_URL: database }, /SIGNPOST_DATABASE_URL is set, so the database is shared by every replica: set SIGNPOST_ENCRYPTION_KEY and SIGNPOST_ADMIN_TOKEN, the same on each/],
      [{ SIGNPOST_DATABASE_URL: database, SIGNPOST_ADMIN_TOKEN: ADMIN, SIGNPOST_ENCRYPTION_KEY: `other:${btoa("another-32-byte-encryption-key!!")}` }, /SIGNPOST_ENCRYPTION_KEY does not match the database's: its other replicas seal with key id \\"test\\", which this one does not have/],
      [{ SIGNPOST_DATABASE_URL: database.replace(/:(\d+)\//, ":1/"), SIGNPOST_ADMIN_TOKEN: ADMIN, SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY }, /SIGNPOST_DATABASE_URL \(postgres:\/\/signpost@127\.0\.0\.1:1\/\w+\): connection refused/],
    ];
    for (const [env, says] of cases) {
      const { code, stderr } = await failedStart(env);
      expect(code).toBe(1);
      expect(stderr).toMatch(says);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).not.toContain(pg.password);
    }
  });
});
