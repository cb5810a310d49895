// Fast path for the signer on Node and Deno: node:crypto answers synchronously, where their Web Crypto sends every
// call to another thread (Node's thread pool: ~34 µs each).
import { createHmac, createSecretKey, hash, type KeyObject } from "node:crypto";
import type { Sha256 } from "../signer.ts";

export const nodeSha256: Sha256<KeyObject> = {
  // One-shot crypto.hash (Node 20.12+): half the cost of createHash().update().digest() on a canonical request.
  sha256Hex: (data) => hash("sha256", data, "hex"),
  importKey: (raw) => createSecretKey(raw),
  hmac: (key, data) => createHmac("sha256", key).update(data, "utf8").digest(),
  hmacHex: (key, data) => createHmac("sha256", key).update(data, "utf8").digest("hex"),
};
