// Fast path for the signer on Node and Deno: node:crypto answers synchronously, where their Web Crypto sends every
// call to another thread (Node's thread pool: ~34 µs each).
import * as nodeCrypto from "node:crypto";
import type { KeyObject } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Sha256 } from "../aws/signer.ts";

const { createHash, createHmac, createSecretKey } = nodeCrypto;

// One-shot crypto.hash (Node 20.12+, Deno 2.1.8+) costs half of createHash().update().digest() on a canonical
// request; older runtimes lack it (read from the namespace, so that its absence is not an import error).
const oneShotHash = typeof nodeCrypto.hash === "function" ? nodeCrypto.hash : null;

const BLOCK = 64; // SHA-256's block: HMAC's pads are one block
// Messages up to this many bytes take the one-shot path: a string to sign is about 150.
const ROOM = 1024;

/**
 * An HMAC key with its two pads worked out (RFC 2104: the key, zero-filled to a block, XOR 0x36 and XOR 0x5c), so
 * that an HMAC is two one-shot hashes: H(outer pad || H(inner pad || message)). That costs half of
 * createHmac().update().digest() for a string to sign, which builds a new HMAC object each time.
 */
export interface NodeHmacKey {
  object: KeyObject;
  innerPad: Buffer;
  outerPad: Buffer;
}

function padded(raw: Uint8Array): NodeHmacKey {
  const key = raw.length > BLOCK ? createHash("sha256").update(raw).digest() : raw; // longer keys are hashed first
  const innerPad = Buffer.alloc(BLOCK, 0x36);
  const outerPad = Buffer.alloc(BLOCK, 0x5c);
  for (let i = 0; i < key.length; i++) {
    innerPad[i]! ^= key[i]!;
    outerPad[i]! ^= key[i]!;
  }
  return { object: createSecretKey(raw), innerPad, outerPad };
}

/**
 * Hex HMAC-SHA256 by two one-shot hashes over scratch buffers shared by every key: JavaScript runs one call at a
 * time and each call is done with them before it returns. Longer messages go through createHmac.
 */
function paddedHmacHex(hash: typeof nodeCrypto.hash) {
  const inner = Buffer.alloc(BLOCK + ROOM);
  const outer = Buffer.alloc(BLOCK + 32);
  let view = inner.subarray(0, BLOCK); // the inner buffer up to the message's end; remade when the length changes
  return (key: NodeHmacKey, data: string): string => {
    if (data.length * 3 > ROOM) return createHmac("sha256", key.object).update(data, "utf8").digest("hex"); // UTF-8: at most 3 bytes per code unit
    key.innerPad.copy(inner, 0);
    const length = BLOCK + inner.write(data, BLOCK, "utf8");
    if (view.length !== length) view = inner.subarray(0, length);
    key.outerPad.copy(outer, 0);
    outer.write(hash("sha256", view, "hex"), BLOCK, "hex"); // a hex answer costs a quarter of a Buffer one here
    const signature = hash("sha256", outer, "hex");
    inner.fill(0, 0, BLOCK); // no copy of a key's pad left behind in the scratch buffers
    outer.fill(0, 0, BLOCK);
    return signature;
  };
}

/** The primitives on node:crypto; `hash: null` forces the createHash and createHmac path (runtimes without crypto.hash). */
export function nodeCryptoSha256(hash: typeof nodeCrypto.hash | null = oneShotHash): Sha256<NodeHmacKey> {
  const hmacHex = hash ? paddedHmacHex(hash) : (key: NodeHmacKey, data: string) => createHmac("sha256", key.object).update(data, "utf8").digest("hex");
  return {
    sha256Hex: hash ? (data) => hash("sha256", data, "hex") : (data) => createHash("sha256").update(data, "utf8").digest("hex"),
    importKey: padded,
    hmac: (key, data) => createHmac("sha256", key.object).update(data, "utf8").digest(),
    hmacHex,
  };
}

export const nodeSha256 = nodeCryptoSha256();
