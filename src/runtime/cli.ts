// `npm run signpost -- export > backup.ndjson` and `npm run signpost -- import < backup.ndjson`: every account, client
// and token introspector of a store, secrets still sealed and versions kept, to and from any store: the data
// folder's Deno KV file (Node's and Deno's), PostgreSQL, or a Deno KV reached by URL (Deno Deploy's, KV Connect).
// The store is the one `npm start` would use (SIGNPOST_DATABASE_URL, else SIGNPOST_DATA_DIR), or --store WHERE.
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { openKv } from "@deno/kv";
import postgres from "postgres";
import { databaseUrl, readSettings, SettingError } from "../config.ts";
import { createSealer, isSealed, type Sealer } from "../crypto/seal.ts";
import { accountProblem } from "../domain/account.ts";
import { clientProblem } from "../domain/client.ts";
import { introspectorProblem } from "../domain/introspector.ts";
import { denoKvStore } from "../store/kv.ts";
import type { Resource, ResourceStore } from "../store/store.ts";
import { exportLines, ImportError, importResources, readExport } from "../store/transfer.ts";
import { openPostgres, type PostgresFactory } from "./postgres.ts";
import { checkSharedKey, dataFolderKey, type KeyHolder, REPLICAS, type SealingKeyCheck } from "./shared-key.ts";
import { privateDatabase } from "./node-io.ts";

const TYPES = ["AwsAccount", "Client", "TokenIntrospector"] as const;
/** Why a record of each type would not read back, as the service reads it. */
const READ_BACK = { AwsAccount: accountProblem, Client: clientProblem, TokenIntrospector: introspectorProblem };
/** A secret of the record that is not sealed: never written anywhere in the clear. */
const PLAIN_SECRET: Record<string, (resource: Record<string, any>) => unknown> = {
  AwsAccount: (account) => account["secret-access-key"],
  TokenIntrospector: (introspector) => introspector.jwt?.secret,
};
const USAGE = `usage: npm run signpost -- export [--store WHERE] > backup.ndjson
       npm run signpost -- import [--store WHERE] < backup.ndjson
WHERE: postgres://... (PostgreSQL), a data folder or its accounts.kv file (Deno KV file), or https://... (a Deno KV
by URL, with DENO_KV_ACCESS_TOKEN). Default: SIGNPOST_DATABASE_URL, else SIGNPOST_DATA_DIR (./.signpost).`;

interface Opened {
  stores: Record<string, ResourceStore<Resource>>;
  /** Where, without a password. */
  where: string;
  /** The folder a Deno KV file sits in (its encryption-key file may be there). */
  folder?: string;
  /** Which key the store's secrets are sealed with (shared-key.ts), and how a refusal names the store. */
  keyCheck?: { store: ResourceStore<SealingKeyCheck>; holder: (from: string) => KeyHolder };
  close(): Promise<void>;
}

const POSTGRES = /^postgres(ql)?:\/\//;
const KV_URL = /^https?:\/\//; // a Deno KV by URL (Deno Deploy's)

async function open(where: string, mustExist: boolean): Promise<Opened> {
  if (POSTGRES.test(where)) {
    databaseUrl({ SIGNPOST_DATABASE_URL: where });
    const db = await openPostgres(postgres as unknown as PostgresFactory, where);
    return { stores: { AwsAccount: db.accounts, Client: db.clients, TokenIntrospector: db.introspectors } as Opened["stores"], where: db.where, keyCheck: { store: db.store<SealingKeyCheck>("SealingKey"), holder: () => REPLICAS }, close: db.close };
  }
  if (KV_URL.test(where)) {
    const kv = await openKv(where);
    return { stores: kvStores(kv), where: new URL(where).origin, close: async () => kv.close() };
  }
  const { file, folder, made } = databaseFile(where);
  if (mustExist && !existsSync(file)) throw new SettingError(`there is no database at ${file} (set SIGNPOST_DATA_DIR, SIGNPOST_DATABASE_URL or --store)`);
  if (made) mkdirSync(folder, { recursive: true, mode: 0o700 });
  const kv = await openKv(privateDatabase(file)); // 0600, as the server makes it
  return {
    stores: kvStores(kv),
    where: file,
    folder,
    // As the server checks it at each start (kept-secret.ts): the folder's secrets are sealed with one key.
    keyCheck: { store: denoKvStore<SealingKeyCheck>(kv, "SealingKey"), holder: (from) => dataFolderKey(folder, from) },
    close: async () => kv.close(),
  };
}

const kvStores = (kv: Awaited<ReturnType<typeof openKv>>) => Object.fromEntries(TYPES.map((type) => [type, denoKvStore(kv, type)]));

/**
 * The Deno KV file `where` names: a data folder's accounts.kv, or the file itself (a name ending in ".kv"). A data
 * folder that is not there yet is `made` by an import, as the server makes it.
 */
function databaseFile(where: string): { file: string; folder: string; made: boolean } {
  const named = resolve(where);
  const isFolder = existsSync(named) ? statSync(named).isDirectory() : !named.endsWith(".kv");
  const folder = isFolder ? named : dirname(named);
  if (!isFolder && !existsSync(folder)) throw new SettingError(`there is no folder ${folder} for the database file ${named}`);
  return { file: isFolder ? join(named, "accounts.kv") : named, folder, made: !existsSync(folder) };
}

/** The key to check sealed values with: SIGNPOST_ENCRYPTION_KEY, else the one kept beside a Deno KV file. */
async function sealerFor(configured: string | undefined, folder: string | undefined): Promise<{ sealer?: Sealer; from: string }> {
  if (configured) return { sealer: await createSealer(configured), from: "SIGNPOST_ENCRYPTION_KEY" };
  const file = folder ? join(folder, "encryption-key") : undefined;
  if (file && existsSync(file)) return { sealer: await createSealer(readFileSync(file, "utf8").trim()), from: file };
  return { from: "" };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let where: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--store" && rest[i + 1]) where = rest[++i];
    else if (rest[i]!.startsWith("--store=")) where = rest[i]!.slice("--store=".length);
    else throw new SettingError(`unknown argument ${JSON.stringify(rest[i])}\n${USAGE}`);
  }
  if (command !== "export" && command !== "import") throw new SettingError(command === undefined || command === "help" || command === "--help" ? USAGE : `unknown command ${JSON.stringify(command)}\n${USAGE}`);
  const settings = readSettings(process.env);
  const target = where ?? settings.databaseUrl ?? settings.dataDir;
  if (command === "export") {
    const opened = await open(target, true);
    try {
      const lines = await exportLines(opened.stores);
      await new Promise<void>((done, fail) => process.stdout.write(`${lines.join("\n")}\n`, (error) => (error ? fail(error) : done())));
      process.stderr.write(`signpost export: ${lines.length - 1} resources from ${opened.where} (${JSON.parse(lines[0]!).counts ? Object.entries(JSON.parse(lines[0]!).counts).map(([t, n]) => `${n} ${t}`).join(", ") : ""}); secrets are still sealed\n`);
      return 0;
    } finally {
      await opened.close();
    }
  }
  // The whole file read and checked before the target is opened: a refused import makes no data folder.
  const text = await new Promise<string>((done, fail) => {
    let input = "";
    process.stdin.setEncoding("utf8").on("data", (chunk) => (input += chunk)).on("end", () => done(input)).on("error", fail);
  });
  const { resources } = readExport(text, TYPES);
  const local = !POSTGRES.test(target) && !KV_URL.test(target);
  const { sealer, from } = await sealerFor(settings.encryptionKey, local ? databaseFile(target).folder : undefined);
  // Every sealed value must open here (with its record's id, as the service opens it), or nothing is written.
  // A record the service would not read back (written before a rule tightened, say) is imported as it is, as the
  // service keeps it, and named; a secret in the clear is refused.
  const unusable: string[] = [];
  const check = async ({ type, resource }: { type: string; resource: Resource }) => {
    const secret = PLAIN_SECRET[type]?.(resource);
    if (secret !== undefined && !isSealed(secret)) throw new ImportError(`refused: ${type}/${resource.id} holds a secret that is not sealed (nothing was imported)`);
    const problem = READ_BACK[type as (typeof TYPES)[number]](resource as never);
    if (problem) unusable.push(problem);
    // Only the secret fields are sealed: any other field may hold text that starts with "sealed:" (a description).
    if (isSealed(secret)) {
      if (!sealer) throw new ImportError(`${type}/${resource.id} holds a sealed secret, and there is no SIGNPOST_ENCRYPTION_KEY to check it against: set the key the export was sealed with (nothing was imported)`);
      await sealer.unseal(secret, `${type}/${resource.id}`).catch((error: unknown) => {
        const reason = error instanceof Error ? error.message.replace(/^a stored secret /, "its secret ") : "it does not open";
        throw new ImportError(`refused: ${type}/${resource.id}: ${reason} (from ${from}); the sealing keys do not match: import with the key the export was sealed with (nothing was imported)`);
      });
    }
  };
  for (const item of resources) await check(item);
  const opened = await open(target, false);
  try {
    // And what else the store holds is sealed with that key too (recorded when it is the first).
    if (sealer && opened.keyCheck) {
      await checkSharedKey(opened.keyCheck.store, sealer, opened.keyCheck.holder(from)).catch((error: unknown) => {
        throw new ImportError(`refused: ${error instanceof Error ? error.message : String(error)} (nothing was imported)`);
      });
    }
    const counts = await importResources(opened.stores, resources);
    const summary = Object.entries(counts).map(([type, { created, replaced }]) => `${type}: ${created} created, ${replaced} replaced`).join("; ");
    process.stderr.write(`signpost import: ${resources.length} resources into ${opened.where} (${summary})\n`);
    for (const problem of unusable) process.stderr.write(`signpost import: imported as it was, and refused by the service until replaced: ${problem}\n`);
    return 0;
  } finally {
    await opened.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`signpost ${process.argv[2] ?? ""}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof SettingError || error instanceof ImportError ? 2 : 1);
  },
);
