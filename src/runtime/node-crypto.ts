// Fast path for the signer on Node and Deno: node:crypto answers synchronously, where their Web Crypto sends every
// call to another thread (Node's thread pool: ~34 µs each).
import * as nodeCrypto from "node:crypto";
import type { KeyObject } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Sha256 } from "../aws/signer.ts";
import { type Midstates, midstateHmacHex, midstates } from "../crypto/midstate-hmac.ts";

const { createHash, createHmac, createSecretKey } = nodeCrypto;

// One-shot crypto.hash (Node 20.12+, Deno 2.1.8+) costs half of createHash().update().digest() on a canonical
// request; older runtimes lack it (read from the namespace, so that its absence is not an import error).
const oneShotHash = typeof nodeCrypto.hash === "function" ? nodeCrypto.hash : null;

const BLOCK = 64; // SHA-256's block: HMAC's pads are one block
// Messages up to this many code units take the one-shot path (UTF-8: at most 3 bytes each): a string to sign is
// about 150. Longer ones (POST policies) take createHmac.
const MAX_FAST = 192;

/**
 * An HMAC key with its two pads worked out (RFC 2104: the key, zero-filled to a block, XOR 0x36 and XOR 0x5c), so
 * that an HMAC is two one-shot hashes: H(outer pad || H(inner pad || message)). That costs half of
 * createHmac().update().digest() for a string to sign, which builds a new HMAC object each time. Each pad sits at
 * the start of the key's own buffer, with room after it for what it is hashed with: no pad is copied per call, and
 * none is left in a buffer another key uses.
 */
export interface NodeHmacKey {
  object: KeyObject;
  /** The inner pad, then room for a message of MAX_FAST code units. */
  inner: Buffer;
  /** The inner buffer up to the last message's end; remade when the length changes. */
  view: Buffer;
  /** The outer pad, then room for the inner hash. */
  outer: Buffer;
}

const hashedKey = (raw: Uint8Array) => (raw.length > BLOCK ? createHash("sha256").update(raw).digest() : raw); // longer keys are hashed first

function padded(raw: Uint8Array): NodeHmacKey {
  const key = hashedKey(raw);
  const inner = Buffer.alloc(BLOCK + 3 * MAX_FAST, 0x36);
  const outer = Buffer.alloc(BLOCK + 32, 0x5c);
  for (let i = 0; i < key.length; i++) {
    inner[i]! ^= key[i]!;
    outer[i]! ^= key[i]!;
  }
  return { object: createSecretKey(raw), inner, view: inner.subarray(0, BLOCK), outer };
}

/**
 * Hex HMAC-SHA256 by two one-shot hashes over the key's buffers: JavaScript runs one call at a time and each call is
 * done with them before it returns. The inner hash goes to the outer buffer as "binary" (latin1: a byte per
 * character), which costs less than hex both ways. Longer messages go through createHmac.
 */
function paddedHmacHex(hash: typeof nodeCrypto.hash) {
  return (key: NodeHmacKey, data: string): string => {
    if (data.length > MAX_FAST) return createHmac("sha256", key.object).update(data, "utf8").digest("hex");
    const length = BLOCK + key.inner.write(data, BLOCK, "utf8");
    if (key.view.length !== length) key.view = key.inner.subarray(0, length);
    key.outer.write(hash("sha256", key.view, "binary"), BLOCK, "binary");
    return hash("sha256", key.outer, "hex");
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

/**
 * An HMAC key for midstateSha256: its KeyObject (derivation, long messages) and its pads' midstates, worked out when
 * the key first signs a string (the four keys of a derivation before the signing key never do).
 */
export interface MidstateKey {
  object: KeyObject;
  midstates?: Midstates;
}

/**
 * For Deno: node:crypto's hash as on Node, and the HMAC of a string to sign in JavaScript from the pads' midstates
 * (crypto/midstate-hmac.ts), where each call into Deno's node:crypto costs about a microsecond. Deriving keys and
 * messages too long for it take createHmac.
 */
export const midstateSha256: Sha256<MidstateKey> = {
  sha256Hex: nodeSha256.sha256Hex,
  importKey: (raw) => ({ object: createSecretKey(raw) }),
  hmac: (key, data) => createHmac("sha256", key.object).update(data, "utf8").digest(),
  hmacHex: (key, data) =>
    midstateHmacHex((key.midstates ??= midstates(hashedKey(key.object.export()))), data) ?? createHmac("sha256", key.object).update(data, "utf8").digest("hex"),
};
