// HMAC-SHA256 in JavaScript from the key's two pads hashed once (FIPS 180-4's compression, RFC 2104's construction):
// the state after each pad (its "midstate") is kept with the key, so a string to sign costs three or four blocks of
// SHA-256 and no call out of JavaScript. For Deno, whose node:crypto costs about a microsecond a call: there an HMAC
// by two one-shot hashes costs 6 to 9 µs, and this 2 to 3 (BENCHMARKS.md part 13). On Node two one-shot hashes are
// faster (about 0.9 µs), so Node does not use it.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const INITIAL = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK = 64;

// The message schedule of the last block compressed: a signed message's (public), or a pad's, which midstates()
// wipes before it returns.
const schedule = new Int32Array(64);

/** SHA-256's compression of the 64 bytes at `at` into `state`. */
function compress(state: Int32Array, bytes: Uint8Array, at: number): void {
  const w = schedule;
  for (let i = 0; i < 16; i++, at += 4) w[i] = (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (s0 + w[i - 16]! + s1 + w[i - 7]!) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
    const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** The two pads' midstates of an HMAC key: what the key is to every HMAC made with it. */
export interface Midstates {
  inner: Int32Array;
  outer: Int32Array;
}

/** `key`: at most a block (HMAC hashes longer keys first: the caller does). */
export function midstates(key: Uint8Array): Midstates {
  if (key.length > BLOCK) throw new Error("an HMAC key longer than a block must be hashed first");
  const pad = new Uint8Array(BLOCK);
  const padded = (byte: number) => {
    pad.fill(byte);
    for (let i = 0; i < key.length; i++) pad[i]! ^= key[i]!;
    const state = INITIAL.slice();
    compress(state, pad, 0);
    return state;
  };
  const inner = padded(0x36);
  const outer = padded(0x5c);
  // The pads are the key: not left in memory longer than needed, nor in the schedule every key shares.
  pad.fill(0);
  schedule.fill(0);
  return { inner, outer };
}

/** The longest message (in UTF-8 bytes) `midstateHmacHex` takes: a string to sign is about 150. */
export const MAX_MESSAGE_BYTES = 8 * BLOCK - 9;

// Scratch for the message and the inner hash: public data (the message, its padding, H(inner pad || message)), and
// the state, which holds the HMAC itself once a call returns.
const message = new Uint8Array(8 * BLOCK);
const state = new Int32Array(8);
const innerHash = new Uint8Array(BLOCK);
const encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Big-endian, the length in bits of everything hashed after the pad's block, in the last 4 bytes of the block ending at `end`. */
function writeLength(bytes: Uint8Array, end: number, hashedBytes: number): void {
  const bits = hashedBytes * 8; // at most (64 + 503) * 8: the upper bytes of the 64-bit length stay 0
  bytes[end - 4] = bits >>> 24;
  bytes[end - 3] = bits >>> 16;
  bytes[end - 2] = bits >>> 8;
  bytes[end - 1] = bits;
}

/**
 * Hex HMAC-SHA256 of `data` (UTF-8) under the key of `keys`; undefined when its UTF-8 is longer than
 * MAX_MESSAGE_BYTES (the caller takes another path). JavaScript runs one call at a time: the scratch is free.
 */
export function midstateHmacHex(keys: Midstates, data: string): string | undefined {
  if (data.length * 3 > MAX_MESSAGE_BYTES && encoder.encode(data).length > MAX_MESSAGE_BYTES) return undefined;
  const { written } = encoder.encodeInto(data, message);
  const blocks = Math.ceil((written + 9) / BLOCK); // the message, 0x80, zeros, 8 bytes of length
  message.fill(0, written, blocks * BLOCK);
  message[written] = 0x80;
  writeLength(message, blocks * BLOCK, BLOCK + written);
  state.set(keys.inner);
  for (let block = 0; block < blocks; block++) compress(state, message, block * BLOCK);
  for (let i = 0; i < 8; i++) {
    const word = state[i]!;
    innerHash[4 * i] = word >>> 24;
    innerHash[4 * i + 1] = word >>> 16;
    innerHash[4 * i + 2] = word >>> 8;
    innerHash[4 * i + 3] = word;
  }
  innerHash.fill(0, 32);
  innerHash[32] = 0x80;
  writeLength(innerHash, BLOCK, BLOCK + 32);
  state.set(keys.outer);
  compress(state, innerHash, 0);
  let hex = "";
  for (let i = 0; i < 8; i++) {
    const word = state[i]!;
    hex += HEX[word >>> 24]! + HEX[(word >>> 16) & 255]! + HEX[(word >>> 8) & 255]! + HEX[word & 255]!;
  }
  return hex;
}

/** The module's scratch, for the tests that check what a call leaves in it. */
export const scratchForTests = { schedule, message, innerHash, state } as const;
