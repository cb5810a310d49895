// The admin token and the encryption key on Node and Deno: from the environment, else the one kept in the data
// folder, else a new one written there (mode 0600; never over a file another start wrote in the meantime). One
// logic for both, so that Node and Deno can take turns on one data folder.
import { randomBase64Url, toBase64 } from "../crypto/encoding.ts";

export interface SecretFiles {
  /** The file's text, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  /** Creates the file with mode 0600; rejects with `exists: true` on the error when it is already there. */
  create(path: string, text: string): Promise<void>;
}

type SecretSource = "environment" | "file" | "generated";

/** 32 random bytes, base64 (url-safe without padding when `url`). */
const randomSecret = (url: boolean): string => (url ? randomBase64Url(32) : toBase64(crypto.getRandomValues(new Uint8Array(32))));

async function keptSecret(files: SecretFiles, options: { configured: string | undefined; path: string; make: () => string }): Promise<{ value: string; source: SecretSource }> {
  if (options.configured) return { value: options.configured, source: "environment" };
  for (let attempt = 0; attempt < 2; attempt++) {
    const stored = (await files.read(options.path))?.trim();
    if (stored) return { value: stored, source: "file" };
    const value = options.make();
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
  const instead = `or set SIGNPOST_DATA_DIR to a folder inside it, such as ${dataDir}/signpost, which signpost makes 0700`;
  if (mode & 0o002) throw new Error(`the data folder ${dataDir} is writable by every user (mode ${bits}): chmod 700 it, ${instead} (whoever can write there could plant the admin token or the encryption key signpost reads)`);
  // Its owner may write there whatever the mode says.
  if (uid !== null && me !== null && uid !== me && uid !== 0) throw new Error(`the data folder ${dataDir} belongs to another user (uid ${uid}): chown it, ${instead}`);
  if (mode & 0o077) warn({ level: "warn", message: "the data folder is open to other users: chmod 700 it", dataDir, mode: bits });
}

/**
 * The admin token and the encryption key of a data folder, from the settings or kept there, with the lines a start
 * prints about them (`say` a log line; `announce` the one time a generated admin token is shown).
 */
export async function folderSecrets(
  files: SecretFiles,
  dataDir: string,
  configured: { adminToken: string | undefined; encryptionKey: string | undefined },
  say: (entry: Record<string, string>) => void,
  announce: (text: string) => void,
): Promise<{ adminToken: string; encryptionKey: string }> {
  const tokenFile = `${dataDir}/admin-token`;
  const keyFile = `${dataDir}/encryption-key`;
  const admin = await keptSecret(files, { configured: configured.adminToken, path: tokenFile, make: () => randomSecret(true) });
  if (admin.source === "file") say({ message: "SIGNPOST_ADMIN_TOKEN read from file", file: tokenFile });
  if (admin.source === "generated") announce(`signpost: generated an admin token, kept in ${tokenFile} (mode 0600):\n${admin.value}\n`);
  // Sealing key for secrets at rest: generated once and kept beside the data (back it up apart from it).
  const key = await keptSecret(files, { configured: configured.encryptionKey, path: keyFile, make: () => randomSecret(false) });
  if (key.source === "file") say({ message: "SIGNPOST_ENCRYPTION_KEY read from file", file: keyFile });
  if (key.source === "generated") say({ message: "generated an encryption key for secrets at rest", file: keyFile });
  return { adminToken: admin.value, encryptionKey: key.value };
}
