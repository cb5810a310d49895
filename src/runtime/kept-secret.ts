// The admin token and the encryption key on Node and Deno: from the environment, else the one kept in the data
// folder, else a new one written there (mode 0600; never over a file another start wrote in the meantime, and no
// key over secrets sealed already). One logic for both, so that Node and Deno can take turns on one data folder.
import { randomBase64Url, toBase64 } from "../crypto/encoding.ts";
import { createSealer, type Sealer, sealedKeyId } from "../crypto/seal.ts";
import type { ResourceStore } from "../store/store.ts";
import { checkSharedKey, dataFolderKey, firstSealedSecret, recordStoreKey, type SealingKeyCheck, type StoredSecret } from "./shared-key.ts";

export interface SecretFiles {
  /** The file's text, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  /** Creates the file with mode 0600; rejects with `exists: true` on the error when it is already there. */
  create(path: string, text: string): Promise<void>;
}

type SecretSource = "environment" | "file" | "generated";

/** 32 random bytes, base64 (url-safe without padding when `url`). */
const randomSecret = (url: boolean): string => (url ? randomBase64Url(32) : toBase64(crypto.getRandomValues(new Uint8Array(32))));

async function keptSecret(files: SecretFiles, options: { configured: string | undefined; path: string; make: () => string | Promise<string> }): Promise<{ value: string; source: SecretSource }> {
  if (options.configured) return { value: options.configured, source: "environment" };
  for (let attempt = 0; attempt < 2; attempt++) {
    const stored = (await files.read(options.path))?.trim();
    if (stored) return { value: stored, source: "file" };
    const value = await options.make();
    try {
      await files.create(options.path, `${value}\n`);
      return { value, source: "generated" };
    } catch (error) {
      if (!(error as { exists?: boolean }).exists) throw error; // another start made it first: read that one
    }
  }
  throw new Error(`${options.path} is empty`);
}

/**
 * The data folder's mode and owner, judged before anything in it is read: one that every user can write to, or that
 * another user owns, could hold an admin token or encryption key that another user put there (or a link in their
 * place), so it stops the start; one open to the group (Kubernetes' fsGroup volumes are group-writable) or readable
 * by others is worth a warning.
 */
export function checkDataFolder(dataDir: string, folder: { mode: number; uid: number | null }, me: number | null, warn: (entry: Record<string, string>) => void): void {
  const { mode, uid } = folder;
  const bits = (mode & 0o777).toString(8);
  const instead = `or set SIGNPOST_DATA_DIR to a folder of signpost's own that other users cannot write to, nor the folders above it`;
  if (mode & 0o002) throw new Error(`the data folder ${dataDir} is writable by every user (mode ${bits}): chmod 700 it, ${instead} (whoever can write there could plant the admin token or the encryption key signpost reads)`);
  // Its owner may write there whatever the mode says.
  if (uid !== null && me !== null && uid !== me && uid !== 0) throw new Error(`the data folder ${dataDir} belongs to another user (uid ${uid}): chown it, ${instead}`);
  if (mode & 0o077) warn({ level: "warn", message: "the data folder is open to other users: chmod 700 it", dataDir, mode: bits });
}

/** Every folder above the absolute POSIX path `path`, nearest first: /a/b/c gives /a/b, /a and /. */
export function foldersAbove(path: string): string[] {
  const parts = path.split("/").filter((part) => part !== "");
  return parts.map((_, i) => `/${parts.slice(0, parts.length - 1 - i).join("/")}`);
}

/**
 * The folders above the data folder (on its real path, which the start then uses), judged as the folder itself is.
 * In one that every user can write to without the sticky bit, any user may rename the data folder away and put one
 * of their own in its place, with an admin token and encryption key of theirs, between the check of the folder and
 * the reads of its files: that stops the start. With the sticky bit (as /tmp has), only an entry's owner may rename
 * it. One that another user owns (who may do the same), or that its group can write to, is worth a warning: a
 * checkout run as root in a container (`-v $PWD:/app`) is one.
 */
export function checkFoldersAbove(dataDir: string, folders: readonly { path: string; mode: number; uid: number | null }[], me: number | null, warn: (entry: Record<string, string>) => void): void {
  for (const { path, mode, uid } of folders) {
    const bits = (mode & 0o7777).toString(8);
    const swap = `another user could put a data folder of their own, with the admin token and encryption key signpost reads, in the place of ${dataDir}`;
    const sticky = (mode & 0o1000) !== 0;
    if (mode & 0o002 && !sticky) throw new Error(`the folder ${path} above the data folder is writable by every user without the sticky bit (mode ${bits}): ${swap}. chmod o-w it, or +t (as /tmp is), or set SIGNPOST_DATA_DIR to a folder elsewhere`);
    if (uid !== null && me !== null && uid !== me && uid !== 0) warn({ level: "warn", message: "a folder above the data folder belongs to another user, who could put another data folder in this one's place", folder: path, uid: String(uid) });
    else if (mode & 0o020 && !sticky) warn({ level: "warn", message: "a folder above the data folder is writable by its group: its members could put another data folder in this one's place", folder: path, mode: bits });
  }
}

/**
 * The sealer and the admin token of a data folder, from the settings or kept there, with the lines a start prints
 * about them (`say` a log line; `announce` the one time a generated admin token is shown). The folder's database
 * keeps which key it is sealed with (`keyCheck`, as a shared PostgreSQL does; before it has one, a secret it holds
 * must open): a start with another key stops, naming it, and none is made over sealed secrets (the file lost, or
 * the variable left out). Else they would not open, and every URL of their accounts would be refused. A folder
 * whose key is gone but that holds nothing sealed (clients only) takes a new one. The key is settled before the
 * admin token, so that a start that stops makes nothing.
 */
export async function folderSecrets(
  files: SecretFiles,
  dataDir: string,
  configured: { adminToken: string | undefined; encryptionKey: string | undefined },
  keyCheck: ResourceStore<SealingKeyCheck>,
  stores: Parameters<typeof firstSealedSecret>[0],
  say: (entry: Record<string, string>) => void,
  announce: (text: string) => void,
): Promise<{ adminToken: string; sealer: Sealer }> {
  const tokenFile = `${dataDir}/admin-token`;
  const keyFile = `${dataDir}/encryption-key`;
  const check = await keyCheck.get("active");
  // A secret the store holds, looked for once and only when needed: what a key must open before the store has a
  // check, and what no new key is made over.
  let found: Promise<StoredSecret | undefined> | undefined;
  const firstSecret = () => (found ??= firstSealedSecret(stores));
  const makeKey = async () => {
    const secret = await firstSecret();
    if (!secret) return randomSecret(false);
    throw new Error(`the secrets in ${dataDir} are sealed with key id "${sealedKeyId(secret.sealed)}", and there is no key to open them: set SIGNPOST_ENCRYPTION_KEY to that key, or put it back in ${keyFile}; for a key that is lost, see "npm run signpost -- replace-lost-key"`);
  };
  // Sealing key for secrets at rest: generated once and kept beside the data (back it up apart from it).
  const key = await keptSecret(files, { configured: configured.encryptionKey, path: keyFile, make: makeKey });
  if (key.source === "file") say({ message: "SIGNPOST_ENCRYPTION_KEY read from file", file: keyFile });
  if (key.source === "generated") say({ message: "generated an encryption key for secrets at rest", file: keyFile });
  const sealer = await createSealer(key.value); // a bad key stops the start with its reason
  if (check && key.source === "generated") {
    // Its key gone with nothing sealed with it: the new one is the folder's, the old one retired.
    await recordStoreKey(keyCheck, sealer, {});
    say({ level: "warn", message: "the data folder's encryption key was gone, and nothing was sealed with it: it has a new one", file: keyFile, retired: check["key-id"] });
  } else {
    await checkSharedKey(keyCheck, sealer, dataFolderKey(dataDir, key.source === "environment" ? "SIGNPOST_ENCRYPTION_KEY" : keyFile), firstSecret);
  }
  const admin = await keptSecret(files, { configured: configured.adminToken, path: tokenFile, make: () => randomSecret(true) });
  if (admin.source === "file") say({ message: "SIGNPOST_ADMIN_TOKEN read from file", file: tokenFile });
  if (admin.source === "generated") announce(`signpost: generated an admin token, kept in ${tokenFile} (mode 0600):\n${admin.value}\n`);
  return { adminToken: admin.value, sealer };
}
