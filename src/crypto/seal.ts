// Secrets at rest: AES-256-GCM under keys from SIGNPOST_ENCRYPTION_KEY, so a copied database leaks no AWS key.
// Format: `sealed:v1:<key id>:<base64url(12-byte IV | ciphertext | 16-byte tag)>`. The first configured key seals;
// every configured key unseals, so keys rotate by putting the new one first (writes re-seal under it; with several
// replicas, after a first step that adds it second everywhere, so that every replica opens what it seals).
// The record's identity is bound in as associated data: a sealed value copied to another record will not open.
import { HttpError } from "../errors.ts";
import { fromBase64, toBase64Url } from "./encoding.ts";

export interface Sealer {
  seal(plaintext: string, context: string): Promise<string>;
  unseal(sealed: string, context: string): Promise<string>;
  /** The id of the key new values are sealed with. */
  activeKeyId: string;
}

const PREFIX = "sealed:v1:";


/** For runtimes where the key is missing: every seal and unseal fails with `reason` (fail closed). */
export function closedSealer(reason: unknown): Sealer {
  const fail = async (): Promise<string> => {
    throw reason instanceof HttpError ? reason : new HttpError(503, String(reason));
  };
  return { activeKeyId: "", seal: fail, unseal: fail };
}

/** The configured sealer, or a closed one that answers 503 with the reason when the key is missing or bad. */
export function sealerFrom(config: string | undefined): Promise<Sealer> {
  return createSealer(config).catch(closedSealer);
}

/**
 * Parses `SIGNPOST_ENCRYPTION_KEY`: comma-separated keys, each `id:base64` or plain base64 (32 bytes);
 * a plain key's id is taken from its SHA-256. The first key is the active one.
 */
export async function createSealer(config: string | undefined, subtle: SubtleCrypto = crypto.subtle): Promise<Sealer> {
  if (!config || !config.trim()) {
    throw new HttpError(503, "SIGNPOST_ENCRYPTION_KEY is not set: give a base64 32-byte key (e.g. `openssl rand -base64 32`)");
  }
  const keys = new Map<string, CryptoKey>();
  let activeKeyId = "";
  for (const entry of config.split(",").map((part) => part.trim()).filter(Boolean)) {
    const match = /^(?:([A-Za-z0-9_-]{1,32}):)?([A-Za-z0-9+/_=-]+)$/.exec(entry);
    let raw: Uint8Array<ArrayBuffer> | undefined;
    try {
      raw = match ? fromBase64(match[2]!) : undefined;
    } catch {
      raw = undefined;
    }
    if (!match || !raw || raw.length !== 32) {
      throw new HttpError(503, "SIGNPOST_ENCRYPTION_KEY: each key must be base64 of exactly 32 bytes, optionally as id:base64");
    }
    const id = match[1] ?? toBase64Url(new Uint8Array(await subtle.digest("SHA-256", raw))).slice(0, 8);
    if (keys.has(id)) throw new HttpError(503, `SIGNPOST_ENCRYPTION_KEY: key id ${id} appears twice`);
    keys.set(id, await subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]));
    activeKeyId ||= id;
  }
  const encoder = new TextEncoder();

  return {
    activeKeyId,
    async seal(plaintext, context) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const params = { name: "AES-GCM", iv, additionalData: encoder.encode(context) };
      const ciphertext = new Uint8Array(await subtle.encrypt(params, keys.get(activeKeyId)!, encoder.encode(plaintext)));
      const packed = new Uint8Array(iv.length + ciphertext.length);
      packed.set(iv);
      packed.set(ciphertext, iv.length);
      return `${PREFIX}${activeKeyId}:${toBase64Url(packed)}`;
    },
    async unseal(sealed, context) {
      const [keyId = "", payload = ""] = sealed.startsWith(PREFIX) ? sealed.slice(PREFIX.length).split(":") : [];
      const key = keys.get(keyId);
      // Never name the value itself in these errors: it is the secret's ciphertext.
      if (!key) throw new HttpError(503, `a stored secret is sealed with key id "${keyId}", which SIGNPOST_ENCRYPTION_KEY does not have`);
      try {
        const packed = fromBase64(payload);
        const params = { name: "AES-GCM", iv: packed.slice(0, 12), additionalData: encoder.encode(context) };
        return new TextDecoder().decode(await subtle.decrypt(params, key, packed.slice(12)));
      } catch {
        throw new HttpError(503, `a stored secret does not open with key id "${keyId}" (tampered, or moved from another record)`);
      }
    },
  };
}

/** The id of the key a value was sealed with ("" when it is not sealed:v1). */
export const sealedKeyId = (sealed: string): string => (sealed.startsWith(PREFIX) ? sealed.slice(PREFIX.length).split(":")[0]! : "");

/** A stored value in sealed form (whatever its version), as opposed to a plain one. */
export const isSealed = (value: unknown): value is string => typeof value === "string" && value.startsWith("sealed:");

/**
 * Opens sealed values for the hot path and keeps them in memory, or what `use` makes of them (an imported key);
 * they stay sealed in the store and its cache. Keyed by the resource too: a sealed value copied into another
 * record does not open there, cached or not. Concurrent first uses share one opening; a failed one is not kept.
 */
export function openedSecrets<T = string>(sealer: Sealer, options: { max?: number; use?: (secret: string) => T | Promise<T> } = {}) {
  const { max = 10_000, use = (secret: string) => secret as T } = options;
  // By the sealed value: the stored record's own string, whose hash the engine keeps (a key joining it to the
  // resource would be a new 300-character string to hash on every URL). One resource per sealed value: another
  // opens on its own, in its place.
  const opened = new Map<string, { resource: string; value: Promise<T> }>();
  return (resource: string, sealed: string): Promise<T> => {
    const found = opened.get(sealed);
    if (found?.resource === resource) return found.value;
    if (opened.size >= max) opened.clear();
    const entry = { resource, value: sealer.unseal(sealed, resource).then(use) };
    entry.value.catch(() => {
      if (opened.get(sealed) === entry) opened.delete(sealed);
    });
    opened.set(sealed, entry);
    return entry.value;
  };
}
