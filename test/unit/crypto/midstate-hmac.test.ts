// HMAC-SHA256 in JavaScript from the pads' midstates (Deno's signer): createHmac's answer for random keys of 0 to
// 100 bytes and messages of every length up to past the limit it takes; test/unit/runtime/node-crypto.test.ts runs
// it through midstateSha256 with the other back ends, and test/deno/node-crypto.test.ts in Deno.
import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAX_MESSAGE_BYTES, midstateHmacHex, midstates, scratchForTests } from "../../../src/crypto/midstate-hmac.ts";

describe("midstateHmacHex", () => {
  it("equals createHmac for every message length from 0 to its limit, and gives way past it", () => {
    for (let length = 0; length <= MAX_MESSAGE_BYTES + 2; length++) {
      const raw = randomBytes(length % 65);
      const data = randomBytes(length).toString("latin1").replace(/[\x80-\xff]/g, "a"); // ASCII: a byte a code unit
      const got = midstateHmacHex(midstates(raw), data);
      if (length > MAX_MESSAGE_BYTES) expect(got, `${length} bytes`).toBeUndefined();
      else expect(got, `${length} bytes`).toBe(createHmac("sha256", raw).update(data, "utf8").digest("hex"));
    }
  });

  it("counts UTF-8 bytes, not code units, against its limit", () => {
    const raw = randomBytes(32);
    const fits = `${"€".repeat(167)}ab`; // 503 bytes
    expect(midstateHmacHex(midstates(raw), fits)).toBe(createHmac("sha256", raw).update(fits, "utf8").digest("hex"));
    expect(midstateHmacHex(midstates(raw), `${fits}c`)).toBeUndefined();
    const lone = "\ud800".repeat(167); // 501 bytes of replacement characters, as createHmac encodes them
    expect(midstateHmacHex(midstates(raw), lone)).toBe(createHmac("sha256", raw).update(lone, "utf8").digest("hex"));
  });

  it("leaves no pad of the key in the scratch every key shares (a review found the outer pad in the schedule)", () => {
    const raw = Buffer.from("AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    const keys = midstates(raw);
    expect([...scratchForTests.schedule].every((word) => word === 0)).toBe(true);
    // After an HMAC: the last block's schedule is the outer block's (the inner hash, public), and the state the HMAC.
    const hex = midstateHmacHex(keys, "a string to sign")!;
    const words = [...scratchForTests.state].map((word) => (word >>> 0).toString(16).padStart(8, "0")).join("");
    expect(words).toBe(hex);
    const outerPad = Buffer.alloc(64, 0x5c).map((byte, i) => byte ^ (raw[i] ?? 0));
    const padWords = new Set(Array.from({ length: 11 }, (_, i) => Buffer.from(outerPad).readInt32BE(4 * i))); // the key's 44 bytes
    expect([...scratchForTests.schedule.subarray(0, 16)].some((word) => padWords.has(word))).toBe(false);
  });

  it("refuses the midstates of a key longer than a block (HMAC hashes such keys first)", () => {
    expect(() => midstates(new Uint8Array(65))).toThrow(/hashed first/);
    expect(midstates(new Uint8Array(64)).inner).toHaveLength(8);
  });
});
