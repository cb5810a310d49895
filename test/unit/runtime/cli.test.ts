// `npm run signpost -- export` / `import`, run as a user runs them (npm's banner on stdout included), between a Deno
// KV file and PostgreSQL (a throw-away cluster): secrets stay sealed, versions are kept, a key that does not match
// is refused and nothing is written, a cut or foreign file is refused naming the line.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openKv } from "@deno/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsAccount } from "../../../src/domain/account.ts";
import { createSealer } from "../../../src/crypto/seal.ts";
import { denoKvStore } from "../../../src/store/kv.ts";
import { TEST_ENCRYPTION_KEY, testSealer } from "../../sealer.ts";
import { startPostgres, type TestPostgres } from "../../postgres.ts";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const PLAIN_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const sealedSecret = await testSealer.seal(PLAIN_SECRET, "AwsAccount/keys");
const otherSealer = await createSealer(`other:${Buffer.alloc(32, 7).toString("base64")}`);
const dir = mkdtempSync(join(tmpdir(), "signpost-cli-"));
let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function signpost(args: string[], options: { env?: Record<string, string>; input?: string } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn("npm", ["run", "signpost", "--", ...args], { cwd: ROOT, env: { ...process.env, SIGNPOST_DATABASE_URL: "", SIGNPOST_ENCRYPTION_KEY: "", ...options.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.stdin.end(options.input ?? "");
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const resourceLines = (output: string) => output.split("\n").filter((line) => line.startsWith("{") && !line.includes('"format"'));

async function kvFolder(name: string) {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const kv = await openKv(join(folder, "accounts.kv"));
  return { folder, kv };
}

describe("export and import", () => {
  it("moves every resource from a Deno KV file to PostgreSQL and back, secrets sealed, versions kept", async () => {
    const { folder, kv } = await kvFolder("source");
    const accounts = denoKvStore<AwsAccount>(kv, "AwsAccount");
    const sealed = await testSealer.seal(PLAIN_SECRET, "AwsAccount/keys");
    await accounts.put("keys", () => ({ resourceType: "AwsAccount", id: "keys", region: "us-east-1", "path-style": false, "use-ssl": true, "access-key-id": "AKIAEXAMPLE", "secret-access-key": sealed, meta: { versionId: "7", lastUpdated: "2026-01-02T03:04:05.000Z" } }));
    await accounts.put("plain", () => ({ resourceType: "AwsAccount", id: "plain", region: "eu-west-1", "path-style": true, "use-ssl": false, meta: { versionId: "2", lastUpdated: "2026-01-02T03:04:05.000Z" } }));
    await denoKvStore(kv, "Client").put("app", () => ({ resourceType: "Client", id: "app", policy: { operations: ["download"] }, "secret-hash": "a".repeat(64), meta: { versionId: "3", lastUpdated: "2026-01-02T03:04:05.000Z" } }));
    kv.close();

    const exported = await signpost(["export"], { env: { SIGNPOST_DATA_DIR: folder } });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).not.toContain(PLAIN_SECRET);
    expect(exported.stderr).toContain("signpost export: 3 resources");
    const lines = resourceLines(exported.stdout);
    expect(lines.map((line) => JSON.parse(line).id)).toEqual(["keys", "plain", "app"]);
    expect(JSON.parse(lines[0]!)["secret-access-key"]).toBe(sealed);

    const database = await pg.database();
    const imported = await signpost(["import"], { env: { SIGNPOST_DATABASE_URL: database, SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY }, input: exported.stdout });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toContain("AwsAccount: 2 created, 0 replaced; Client: 1 created, 0 replaced; TokenIntrospector: 0 created, 0 replaced");
    expect(imported.stderr).not.toContain(pg.password);
    expect(await pg.dump(database)).not.toContain(PLAIN_SECRET);

    // Imported again: replaced, not doubled.
    expect((await signpost(["import", "--store", database], { env: { SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY }, input: exported.stdout })).stderr).toContain("AwsAccount: 0 created, 2 replaced");

    const back = await signpost(["export", `--store=${database}`]);
    expect(back.code, back.stderr).toBe(0);
    expect(resourceLines(back.stdout)).toEqual(lines);

    // And into a fresh data folder whose key (kept beside its file) is the same: what npm start there would open.
    const target = join(dir, "target");
    mkdirSync(target);
    writeFileSync(join(target, "encryption-key"), `${TEST_ENCRYPTION_KEY}\n`);
    const intoFile = await signpost(["import"], { env: { SIGNPOST_DATA_DIR: target }, input: back.stdout });
    expect(intoFile.code, intoFile.stderr).toBe(0);
    expect((statSync(join(target, "accounts.kv")).mode & 0o777).toString(8)).toBe("600"); // as the server makes it
    const reopened = await openKv(join(target, "accounts.kv"));
    expect((await denoKvStore<AwsAccount>(reopened, "AwsAccount").get("keys"))!.meta.versionId).toBe("7");
    reopened.close();
  }, 60_000);

  it("refuses an import whose secrets do not open with the target's key, and writes nothing", async () => {
    const database = await pg.database();
    const sealed = await testSealer.seal(PLAIN_SECRET, "AwsAccount/keys");
    const file = [
      JSON.stringify({ format: "signpost-export/1", exported: "2026-01-02T03:04:05.000Z", counts: { AwsAccount: 2 } }),
      JSON.stringify({ resourceType: "AwsAccount", id: "first", region: "us-east-1", "path-style": false, "use-ssl": true, meta: { versionId: "1", lastUpdated: "2026-01-02T03:04:05.000Z" } }),
      JSON.stringify({ resourceType: "AwsAccount", id: "keys", region: "us-east-1", "path-style": false, "use-ssl": true, "access-key-id": "AKIAEXAMPLE", "secret-access-key": sealed, meta: { versionId: "1", lastUpdated: "2026-01-02T03:04:05.000Z" } }),
    ].join("\n");
    const other = `other:${Buffer.alloc(32, 7).toString("base64")}`;
    const sameIdOtherBytes = `test:${Buffer.alloc(32, 9).toString("base64")}`;
    for (const [key, says] of [[other, 'key id "test", which SIGNPOST_ENCRYPTION_KEY does not have'], [sameIdOtherBytes, 'does not open with key id "test"'], ["", "there is no SIGNPOST_ENCRYPTION_KEY"]] as const) {
      const refused = await signpost(["import"], { env: { SIGNPOST_DATABASE_URL: database, SIGNPOST_ENCRYPTION_KEY: key }, input: file });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(says);
      expect(refused.stderr).toContain("nothing was imported");
      expect(refused.stderr).not.toContain(sealed);
    }
    const after = await signpost(["export", "--store", database]);
    expect(resourceLines(after.stdout)).toEqual([]);
    // A sealed value moved to another record does not open there either (it is bound to its id).
    const moved = file.replace('"id":"keys"', '"id":"moved"');
    expect((await signpost(["import", "--store", database], { env: { SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY }, input: moved })).stderr).toContain("AwsAccount/moved");
  }, 60_000);

  it("refuses an import with a secret in the clear, and imports a record the service would not use as it was, naming it (a review, 2026-12-01)", async () => {
    const database = await pg.database();
    const header = (type: string) => JSON.stringify({ format: "signpost-export/1", exported: "2026-01-02T03:04:05.000Z", counts: { [type]: 1 } });
    const clear = JSON.stringify({ resourceType: "AwsAccount", id: "clear", region: "us-east-1", "path-style": false, "use-ssl": true, "access-key-id": "AKIAEXAMPLE", "secret-access-key": PLAIN_SECRET, meta: { versionId: "1", lastUpdated: "2026-01-02T03:04:05.000Z" } });
    const hs = JSON.stringify({ resourceType: "TokenIntrospector", id: "hs", type: "jwt", jwt: { iss: "https://idp.example.com", secret: PLAIN_SECRET }, policy: { operations: ["download"] }, meta: { versionId: "1", lastUpdated: "2026-01-02T03:04:05.000Z" } });
    for (const [type, line, id] of [["AwsAccount", clear, "AwsAccount/clear"], ["TokenIntrospector", hs, "TokenIntrospector/hs"]] as const) {
      const refused = await signpost(["import", "--store", database], { env: { SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY }, input: `${header(type)}\n${line}` });
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toContain(`refused: ${id} holds a secret that is not sealed (nothing was imported)`);
      expect(refused.stderr).not.toContain(PLAIN_SECRET);
    }
    expect(resourceLines((await signpost(["export", "--store", database])).stdout)).toEqual([]);
    // Written before a rule tightened: kept as the service keeps it (and refuses to use it), named at the import.
    const legacy = JSON.stringify({ resourceType: "Client", id: "legacy", policy: { operations: ["download"], accounts: ["a"] }, "secret-hash": "0".repeat(64), description: "x".repeat(501), meta: { versionId: "1", lastUpdated: "2026-01-02T03:04:05.000Z" } });
    const imported = await signpost(["import", "--store", database], { env: { SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY }, input: `${header("Client")}\n${legacy}` });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toContain("imported as it was, and refused by the service until replaced: Client/legacy is stored in a form signpost cannot use (description must be a string of at most 500 characters)");
    expect(resourceLines((await signpost(["export", "--store", database])).stdout)).toEqual([legacy]);
  }, 60_000);

  it("imports text that only looks sealed (a description or external-id starting with sealed:), which once made every backup holding it unrestorable (an attack, 2026-12-01)", async () => {
    const database = await pg.database();
    const meta = { versionId: "1", lastUpdated: "2026-01-02T03:04:05.000Z" };
    const lines = [
      JSON.stringify({ format: "signpost-export/1", exported: "2026-01-02T03:04:05.000Z", counts: { AwsAccount: 1, Client: 1 } }),
      JSON.stringify({ resourceType: "AwsAccount", id: "ext", region: "us-east-1", "path-style": false, "use-ssl": true, "role-arn": "arn:aws:iam::111122223333:role/r", "external-id": "sealed:partner-7", meta }),
      JSON.stringify({ resourceType: "Client", id: "notes", description: "sealed: reviewed by ops", policy: { operations: ["download"], accounts: ["*"], buckets: ["*"] }, "secret-hash": "0".repeat(64), meta }),
    ];
    const imported = await signpost(["import", "--store", database], { env: { SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY }, input: lines.join("\n") });
    expect(imported.code, imported.stderr).toBe(0);
    expect(resourceLines((await signpost(["export", "--store", database])).stdout).sort()).toEqual(lines.slice(1).sort());
  }, 60_000);

  it("refuses a file that is cut short, not an export, or not JSON, naming the line", async () => {
    const database = await pg.database();
    const header = JSON.stringify({ format: "signpost-export/1", exported: "2026-01-02T03:04:05.000Z", counts: { AwsAccount: 2 } });
    const one = JSON.stringify({ resourceType: "AwsAccount", id: "a", region: "us-east-1", meta: { versionId: "1", lastUpdated: "x" } });
    for (const [input, says] of [
      [`${header}\n${one}\n`, "the header counts 2 AwsAccount but 1 follow"],
      ['{"resourceType":"AwsAccount"}\n', "line 1 is not the header of a signpost export"],
      [`${header}\n{not json\n`, "line 2 is not JSON"],
      [`${header}\n${one.replace("AwsAccount", "Patient")}\n`, "line 2: resourceType must be one of AwsAccount, Client, TokenIntrospector"],
      ["", "the input is empty"],
    ] as const) {
      const refused = await signpost(["import", "--store", database], { input });
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toContain(says);
    }
    expect((await signpost(["export", "--store", join(dir, "nowhere")])).stderr).toContain("there is no database at");
  }, 60_000);

  it("imports into a data folder that is not there yet as the server makes one (0700, accounts.kv in it), and into one sealed with another key not at all (a review, 2026-12-02)", async () => {
    const { folder, kv } = await kvFolder("moving");
    await denoKvStore<AwsAccount>(kv, "AwsAccount").put("keys", () => ({ resourceType: "AwsAccount", id: "keys", region: "us-east-1", "path-style": false, "use-ssl": true, "access-key-id": "AKIAEXAMPLE", "secret-access-key": sealedSecret, meta: { versionId: "1", lastUpdated: "2026-01-02T03:04:05.000Z" } }));
    kv.close();
    const exported = await signpost(["export"], { env: { SIGNPOST_DATA_DIR: folder } });
    expect(exported.code, exported.stderr).toBe(0);
    const keyed = { SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };

    // A refused import makes nothing: the file is read and checked before the folder is made.
    const refused = join(dir, "refused", "signpost");
    expect((await signpost(["import", "--store", refused], { env: keyed, input: exported.stdout.replace('"id":"keys"', '"id":"moved"') })).code).toBe(2);
    expect(existsSync(join(dir, "refused"))).toBe(false);

    // By SIGNPOST_DATA_DIR (the default) and by --store: a folder, where this once made a database file of that name.
    for (const [name, args, env] of [["by-setting", [], (at: string) => ({ ...keyed, SIGNPOST_DATA_DIR: at })], ["by-store", ["--store"], () => keyed]] as const) {
      const target = join(dir, name, "nested", "signpost");
      const imported = await signpost(["import", ...args, ...(args.length ? [target] : [])], { env: env(target), input: exported.stdout });
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stderr).toContain(`resources into ${join(target, "accounts.kv")}`);
      expect(statSync(target).isDirectory()).toBe(true);
      expect(statSync(target).mode & 0o777).toBe(0o700);
      expect(statSync(join(target, "accounts.kv")).mode & 0o777).toBe(0o600);
      expect(existsSync(join(target, "encryption-key"))).toBe(false); // the key stays where it was given
      const back = await signpost(["export", "--store", target]);
      expect(resourceLines(back.stdout)).toEqual(resourceLines(exported.stdout));
      // The folder's secrets now open with that key only: another one is refused (a start with it would open none).
      const other = await signpost(["import", "--store", target], { env: { SIGNPOST_ENCRYPTION_KEY: `other:${Buffer.alloc(32, 7).toString("base64")}` }, input: exported.stdout.replace(sealedSecret, await otherSealer.seal(PLAIN_SECRET, "AwsAccount/keys")) });
      expect(other.code, other.stderr).toBe(2);
      expect(other.stderr).toContain(`does not match the data folder's: the secrets in ${target} are sealed with key id "test"`);
      expect(other.stderr).toContain("nothing was imported");
    }
    // Nor is a key other than the one the folder keeps (its starts without the variable use the kept one).
    const keeps = join(dir, "keeps");
    mkdirSync(keeps, { mode: 0o700 });
    writeFileSync(join(keeps, "encryption-key"), `other:${Buffer.alloc(32, 7).toString("base64")}\n`, { mode: 0o600 });
    const notKept = await signpost(["import", "--store", keeps], { env: keyed, input: exported.stdout });
    expect(notKept.code, notKept.stderr).toBe(2);
    expect(notKept.stderr).toContain(`SIGNPOST_ENCRYPTION_KEY (key id "test") is not the key the data folder keeps in ${join(keeps, "encryption-key")} (key id "other")`);
    expect(existsSync(join(keeps, "accounts.kv"))).toBe(false);
    // A database file by name goes in a folder that is there.
    const lost = await signpost(["import", "--store", join(dir, "nowhere", "accounts.kv")], { env: keyed, input: exported.stdout });
    expect(lost.code).toBe(2);
    expect(lost.stderr).toContain(`there is no folder ${join(dir, "nowhere")} for the database file`);
  }, 60_000);
});
