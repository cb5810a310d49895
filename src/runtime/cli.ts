// `npm run signpost -- export > backup.ndjson` and `npm run signpost -- import < backup.ndjson`: every account, client
// and token introspector of a store, secrets still sealed and versions kept, to and from any store: the data
// folder's Deno KV file (Node's and Deno's), PostgreSQL, or a Deno KV reached by URL (Deno Deploy's, KV Connect).
// The store is the one `npm start` would use (SIGNPOST_DATABASE_URL, else SIGNPOST_DATA_DIR), or --store WHERE.
// `npm run signpost -- replace-lost-key`: a store whose key is lost is given a new one, and the records to store
// again are named.
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync } from "node:fs";
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
import { dataFolderKey, firstSealedSecret, type KeyHolder, recordStoreKey, REPLICAS, requireStoreKey, sameKey, type SealingKeyCheck, SECRET_OF, storeKeyProblem } from "./shared-key.ts";
import { privateDatabase } from "./node-io.ts";

const TYPES = ["AwsAccount", "Client", "TokenIntrospector"] as const;
/** Why a record of each type would not read back, as the service reads it. */
const READ_BACK = { AwsAccount: accountProblem, Client: clientProblem, TokenIntrospector: introspectorProblem };
const USAGE = `usage: npm run signpost -- export [--store WHERE] > backup.ndjson
       npm run signpost -- import [--store WHERE] < backup.ndjson
       npm run signpost -- replace-lost-key [--store WHERE]   (the store takes SIGNPOST_ENCRYPTION_KEY, or its data
                              folder's encryption-key file; the records to PUT again are named)
WHERE: postgres://... (PostgreSQL), a data folder or its accounts.kv file (Deno KV file), or https://... (a Deno KV
by URL, with DENO_KV_ACCESS_TOKEN). Default: SIGNPOST_DATABASE_URL, else SIGNPOST_DATA_DIR (./.signpost).`;

interface Opened {
  stores: Record<string, ResourceStore<Resource>>;
  /** Where, without a password. */
  where: string;
  /** The folder a Deno KV file sits in (its encryption-key file may be there). */
  folder?: string;
  /** Which key the store is sealed with (shared-key.ts), and how a refusal names the store (by where the key came from). */
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
    // As each start checks it (kept-secret.ts): the folder is sealed with one key.
    keyCheck: { store: denoKvStore<SealingKeyCheck>(kv, "SealingKey"), holder: (from) => dataFolderKey(folder, from) },
    close: async () => kv.close(),
  };
}

const kvStores = (kv: Awaited<ReturnType<typeof openKv>>) => Object.fromEntries(TYPES.map((type) => [type, denoKvStore(kv, type)]));

/**
 * The Deno KV file `where` names: a data folder's accounts.kv, or the file itself (a name ending in ".kv", without a
 * trailing '/'). A data folder that is not there yet is `made` by an import, as the server makes it.
 */
function databaseFile(where: string): { file: string; folder: string; made: boolean } {
  const named = resolve(where);
  if (!existsSync(named) && lstatSync(named, { throwIfNoEntry: false })) throw new SettingError(`${named} is a link to nothing`);
  const isFolder = existsSync(named) ? statSync(named).isDirectory() : where.endsWith("/") || !named.endsWith(".kv");
  const folder = isFolder ? named : dirname(named);
  if (!isFolder && !existsSync(folder)) throw new SettingError(`there is no folder ${folder} for the database file ${named}`);
  return { file: isFolder ? join(named, "accounts.kv") : named, folder, made: !existsSync(folder) };
}

/** The key to check sealed values with: SIGNPOST_ENCRYPTION_KEY, else the one kept beside a Deno KV file. */
async function sealerFor(configured: string | undefined, folder: string | undefined): Promise<{ sealer?: Sealer; from: string }> {
  const keyed = async (text: string, from: string) => ({
    sealer: await createSealer(text).catch((error: unknown) => {
      throw new SettingError(`${from}: ${error instanceof Error ? error.message.replace(/^SIGNPOST_ENCRYPTION_KEY:? ?/, "") : String(error)}`);
    }),
    from,
  });
  if (configured) return keyed(configured, "SIGNPOST_ENCRYPTION_KEY");
  const file = folder ? join(folder, "encryption-key") : undefined;
  if (file && existsSync(file)) return keyed(readFileSync(file, "utf8").trim(), file);
  return { from: "" };
}

/**
 * A data folder that keeps a key of its own: the starts there without SIGNPOST_ENCRYPTION_KEY seal with that one,
 * so the key the variable gives must be it. The reason when it is not.
 */
async function keptKeyProblem(sealer: Sealer | undefined, folder: string | undefined, configured: string | undefined): Promise<string | undefined> {
  if (!sealer || !configured || folder === undefined) return undefined;
  const kept = await sealerFor(undefined, folder);
  if (!kept.sealer || (await sameKey(sealer, kept.sealer))) return undefined;
  return `SIGNPOST_ENCRYPTION_KEY (key id "${sealer.activeKeyId}") is not the key the data folder keeps in ${kept.from} (key id "${kept.sealer.activeKeyId}"), which its starts use without the variable`;
}

const isLocal = (where: string) => !POSTGRES.test(where) && !KV_URL.test(where);

/**
 * A store whose key is lost: its check takes the key given (SIGNPOST_ENCRYPTION_KEY, else its data folder's file),
 * and the records whose secrets do not open with it are named, to be PUT again with their secrets. Refused when
 * the key is not lost (what the store is sealed with opens with the key given), and when the variable and the
 * folder's file disagree: replacing a working key (a typo, the wrong variable) would lose it.
 */
async function replaceLostKey(target: string, configured: string | undefined): Promise<number> {
  if (KV_URL.test(target)) throw new SettingError("replace-lost-key takes a data folder or PostgreSQL, not a Deno KV by URL");
  const opened = await open(target, true);
  try {
    const { sealer, from } = await sealerFor(configured, opened.folder);
    if (!sealer) throw new SettingError(`replace-lost-key needs the new key: set SIGNPOST_ENCRYPTION_KEY (openssl rand -base64 32)${opened.folder ? `, or write it to ${join(opened.folder, "encryption-key")} (mode 0600)` : ""}`);
    const disagree = await keptKeyProblem(sealer, opened.folder, configured);
    if (disagree) throw new SettingError(`${disagree}: write the new key there, or remove that file first`);
    const { store, holder } = opened.keyCheck!;
    // Only a key that does not open it counts as lost: a store that cannot be read throws, and replaces nothing.
    const { problem } = await storeKeyProblem(store, sealer, holder(from), () => firstSealedSecret(opened.stores));
    if (!problem) throw new SettingError(`the key of ${opened.where} is not lost: what it is sealed with opens with the key from ${from} (key id "${sealer.activeKeyId}"); nothing was replaced (to rotate, list the new key first and the old one after it)`);
    const { previous, unopened, underOlder } = await recordStoreKey(store, sealer, opened.stores);
    const say = (text: string) => process.stderr.write(`signpost replace-lost-key: ${text}\n`);
    say(`${opened.where} is now sealed with key id "${sealer.activeKeyId}" (from ${from}${previous ? `; "${previous}" is retired` : ""}); start every server of it with this key, and stop any still running with the old one (what it writes, it seals with that)`);
    for (const record of unopened) say(`${record} holds a secret that does not open with it: PUT it again with its secret`);
    for (const record of underOlder) say(`${record} is sealed with a key listed after the first: PUT it again before that key is dropped`);
    return 0;
  } finally {
    await opened.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let where: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--store" && rest[i + 1]) where = rest[++i];
    else if (rest[i]!.startsWith("--store=")) where = rest[i]!.slice("--store=".length);
    else throw new SettingError(`unknown argument ${JSON.stringify(rest[i])}\n${USAGE}`);
  }
  if (command !== "export" && command !== "import" && command !== "replace-lost-key") throw new SettingError(command === undefined || command === "help" || command === "--help" ? USAGE : `unknown command ${JSON.stringify(command)}\n${USAGE}`);
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
  if (command === "replace-lost-key") return replaceLostKey(target, settings.encryptionKey);
  // The whole file read and checked before the target is opened: a refused import makes no data folder.
  const text = await new Promise<string>((done, fail) => {
    let input = "";
    process.stdin.setEncoding("utf8").on("data", (chunk) => (input += chunk)).on("end", () => done(input)).on("error", fail);
  });
  const { resources } = readExport(text, TYPES);
  const folder = isLocal(target) ? databaseFile(target).folder : undefined;
  const { sealer, from } = await sealerFor(settings.encryptionKey, folder);
  const disagree = await keptKeyProblem(sealer, folder, settings.encryptionKey);
  if (disagree) throw new ImportError(`refused: ${disagree}; import with that key (nothing was imported)`);
  // Every sealed value must open here (with its record's id, as the service opens it), or nothing is written.
  // A record the service would not read back (written before a rule tightened, say) is imported as it is, as the
  // service keeps it, and named; a secret in the clear is refused.
  const unusable: string[] = [];
  const check = async ({ type, resource }: { type: string; resource: Resource }) => {
    const secret = SECRET_OF[type]?.(resource);
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
    // And the store is sealed with that key too: its check, or a secret it holds (checked; the import records no
    // key, it seals nothing: the first start there does).
    if (sealer && opened.keyCheck) {
      await requireStoreKey(opened.keyCheck.store, sealer, opened.keyCheck.holder(from), () => firstSealedSecret(opened.stores)).catch((error: unknown) => {
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
