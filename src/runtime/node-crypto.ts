// Fast path for the signer on Node and Deno: node:crypto answers synchronously, where their Web Crypto sends every
// call to another thread (Node's thread pool: ~34 µs each).
import * as nodeCrypto from "node:crypto";
import type { KeyObject } from "node:crypto";
import type { Sha256 } from "../aws/signer.ts";

const { createHash, createHmac, createSecretKey } = nodeCrypto;

// One-shot crypto.hash (Node 20.12+, Deno 2.1.8+) costs half of createHash().update().digest() on a canonical
// request; older runtimes lack it (read from the namespace, so that its absence is not an import error).
const oneShotHash = typeof nodeCrypto.hash === "function" ? nodeCrypto.hash : null;

/** The primitives on node:crypto; `hash: null` forces the createHash path (what runtimes without crypto.hash use). */
export function nodeCryptoSha256(hash: typeof nodeCrypto.hash | null = oneShotHash): Sha256<KeyObject> {
  return {
    sha256Hex: hash ? (data) => hash("sha256", data, "hex") : (data) => createHash("sha256").update(data, "utf8").digest("hex"),
    importKey: (raw) => createSecretKey(raw),
    hmac: (key, data) => createHmac("sha256", key).update(data, "utf8").digest(),
    hmacHex: (key, data) => createHmac("sha256", key).update(data, "utf8").digest("hex"),
  };
}

export const nodeSha256 = nodeCryptoSha256();
