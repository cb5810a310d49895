// The cached timestamp formatter of the request log and audit line must always equal toISOString.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoClock } from "../../../src/http/log.ts";

describe("isoClock", () => {
  it("equals toISOString for any time, in any order, across second boundaries", () => {
    const iso = isoClock();
    const moments = fc.oneof(
      fc.integer({ min: -62_198_755_200_000, max: 253_402_300_799_999 }), // years 0000 to 9999
      fc.integer({ min: 1_795_000_000_000, max: 1_795_000_003_000 }), // a few seconds, so the cached part is reused
      fc.constantFrom(0, -1, 999, 1000, 1_795_000_000_999, 1_795_000_001_000, 1_795_000_000_123.5, -0.5, -1000.25),
    );
    fc.assert(
      fc.property(fc.array(moments, { minLength: 1, maxLength: 20 }), (list) => {
        for (const ms of list) expect(iso(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});
