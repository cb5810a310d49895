// Node fast path for the signer: node:crypto answers synchronously, where Node's Web Crypto
// sends every call to the thread pool (~34 µs each).
import { createHash, createHmac, createSecretKey, type KeyObject } from "node:crypto";
import type { Sha256 } from "../signer.ts";

export const nodeSha256: Sha256<KeyObject> = {
  sha256Hex: (data) => createHash("sha256").update(data, "utf8").digest("hex"),
  importKey: (raw) => createSecretKey(raw),
  hmac: (key, data) => createHmac("sha256", key).update(data, "utf8").digest(),
  hmacHex: (key, data) => createHmac("sha256", key).update(data, "utf8").digest("hex"),
};
