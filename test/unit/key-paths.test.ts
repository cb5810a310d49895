// Object keys in and out in one pass: the whole-key encoding and decoding must equal the segment-by-segment
// definitions they replaced (S3 signs each '/'-separated segment RFC 3986-encoded; signpost decodes each segment).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { storagePath } from "../../src/app.ts";
import { HttpError } from "../../src/errors.ts";
import { encodeKey } from "../../src/s3url.ts";
import { encodeRfc3986 } from "../../src/signer.ts";
import { checkKey } from "../../src/validate.ts";

const bySegment = (key: string) => key.split("/").map(encodeRfc3986).join("/");

/** The key as storagePath decoded it before: each raw segment on its own, or the error. */
function decodedBySegment(raw: string): string | "error" {
  try {
    return raw.split("/").map((segment) => decodeURIComponent(segment)).join("/");
  } catch {
    return "error";
  }
}

// Characters that stress both directions: separators, escapes, reserved and sub-delims, plus, space, non-ASCII.
const keyChar = fc.oneof(
  fc.constantFrom("/", "/", "%", "+", " ", "!", "'", "(", ")", "*", "~", "#", "?", "&", "=", ";", ",", "$", "@", ":", "[", "]"),
  fc.constantFrom("é", "e\u0301", "ß", "日", "😀", "\u00a0"),
  fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }),
);
const keys = fc.array(keyChar, { maxLength: 40 }).map((chars) => chars.join(""));
const rawChar = fc.constantFrom("/", "%", "2", "F", "f", "C", "3", "A", "9", "E", "8", "B", "a", "+", "-", "%2F", "%25", "%C3%A9", "%E2%82%AC", "%F0%9F%98%80", "%C3", "%A9", "%E2%82", "%ZZ", "%%");
const raws = fc.array(rawChar, { maxLength: 24 }).map((parts) => parts.join(""));

describe("object keys in one pass", () => {
  it("encodeKey equals encoding each segment, for any key", () => {
    fc.assert(fc.property(fc.oneof(keys, fc.string({ unit: "grapheme" })), (key) => {
      expect(encodeKey(key)).toBe(bySegment(key));
    }), { numRuns: 20_000, seed: 11 });
  });

  it("storagePath decodes the key as decoding each segment does, and refuses what that refused", () => {
    fc.assert(
      fc.property(raws, (raw) => {
        const expected = decodedBySegment(raw);
        let got: string | undefined | "error";
        try {
          got = storagePath(`http://h/aws/storage/acct/bucket-1/${raw}`).key;
        } catch (error) {
          expect(error).toBeInstanceOf(HttpError);
          expect((error as HttpError).status).toBe(400);
          got = "error";
        }
        expect(got).toBe(expected);
      }),
      { numRuns: 20_000, seed: 12 },
    );
  });

  it("checkKey refuses a key exactly when one of its segments is '.' or '..' (or it starts with '/')", () => {
    const dotty = fc.array(fc.constantFrom(".", ".", "/", "a"), { minLength: 1, maxLength: 12 }).map((chars) => chars.join(""));
    fc.assert(
      fc.property(dotty, (key) => {
        const hasDotSegment = key.split("/").some((segment) => segment === "." || segment === "..");
        if (key.startsWith("/")) expect(() => checkKey(key)).toThrow(/must not start with '\/'/); // checked first
        else if (hasDotSegment) expect(() => checkKey(key)).toThrow(/'\.' or '\.\.'/);
        else expect(checkKey(key)).toBe(key);
      }),
      { numRuns: 5_000, seed: 13 },
    );
  });

  it("tells no key, an empty key and the segments around the bucket apart", () => {
    expect(storagePath("http://h/aws/storage/acct/bucket-1").key).toBeUndefined();
    expect(storagePath("http://h/aws/storage/acct/bucket-1/").key).toBe("");
    expect(storagePath("http://h/aws/storage/acct/bucket-1//a//b/?x=1").key).toBe("/a//b/");
    expect(storagePath("http://h/aws/storage/acct/bucket-1/a%2Fb+c%20d").key).toBe("a/b+c d");
    expect(storagePath("http://h/aws/storage/a%63ct/bucket-1/k")).toEqual({ accountId: "acct", bucket: "bucket-1", key: "k" });
    expect(() => storagePath("http://h/aws/storage/acct")).toThrow(HttpError);
  });
});
