// The admin token and the encryption key on Node and Deno: from the environment, else the one kept in the data
// folder, else a new one written there (mode 0600; never over a file another start wrote in the meantime). One
// logic for both, so that Node and Deno can take turns on one data folder.
import { toBase64 } from "../seal.ts";

export interface SecretFiles {
  /** The file's text, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  /** Creates the file with mode 0600; rejects with `exists: true` on the error when it is already there. */
  create(path: string, text: string): Promise<void>;
}

export type SecretSource = "environment" | "file" | "generated";

/** 32 random bytes, base64 (url-safe without padding when `url`). */
export function randomSecret(url: boolean): string {
  const text = toBase64(crypto.getRandomValues(new Uint8Array(32)));
  return url ? text.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") : text;
}

export async function keptSecret(files: SecretFiles, options: { configured: string | undefined; path: string; make: () => string }): Promise<{ value: string; source: SecretSource }> {
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
