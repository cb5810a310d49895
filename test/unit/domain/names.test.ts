// domain/names.ts: object keys decoded and checked in one pass (property-tested against the per-segment
// definitions), and the hosts signpost sends signed requests to.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkHost, checkId, checkKey, storagePath } from "../../../src/domain/names.ts";
import { HttpError } from "../../../src/errors.ts";
import { encodeKey } from "../../../src/aws/s3url.ts";
import { encodeRfc3986 } from "../../../src/aws/signer.ts";

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

describe("resource ids", () => {
  // FHIR's id, but not . or ..: a record no URL can name could never be read, changed or deleted (an alias that
  // decoded a path twice once made `PUT /AwsAccount/%2%45%2%45` create one: BENCHMARKS.md part 11).
  it("refuses . and .., takes other ids of FHIR's characters", () => {
    for (const id of [".", "..", "", "a/b", "a b", "x".repeat(65)]) expect(() => checkId(id), id).toThrow(HttpError);
    for (const id of ["acc", "a.b", "...", "-", "A-1.x", "x".repeat(64)]) expect(checkId(id)).toBe(id);
  });
});

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
          got = storagePath(`acct/bucket-1/${raw}`).key;
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
    expect(storagePath("acct/bucket-1").key).toBeUndefined();
    expect(storagePath("acct/bucket-1/").key).toBe("");
    expect(storagePath("acct/bucket-1//a//b/").key).toBe("/a//b/");
    expect(storagePath("acct/bucket-1/a%2Fb+c%20d").key).toBe("a/b+c d");
    expect(storagePath("a%63ct/bucket-1/k")).toEqual({ accountId: "acct", bucket: "bucket-1", key: "k" });
    expect(() => storagePath("acct")).toThrow(HttpError);
  });
});

describe("hosts signpost signs for (issue 11, 4)", () => {
  it.each([
    "169.254.169.254", "169.254.170.2", "[fd00:ec2::254]", "[fd00:ec2::23]", "[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]",
    "[64:ff9b::a9fe:a9fe]", "[fe80::1]", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "metadata.google.internal",
    "[:::]", "[::]", "0.0.0.0", "100.100.100.200", "host:0", "host:65536", "[::1", "a:b:c",
    "[64:ff9b:1::a9fe:a9fe]", "[2002:a9fe:a9fe::1]", "[::ffff:0:a9fe:a9fe]", "168.63.129.16", "192.0.0.192",
  ])("refuses %s", (host) => {
    expect(() => checkHost(host)).toThrow();
  });
  it.each(["127.0.0.1:9000", "localhost:9000", "10.0.0.5", "192.168.1.2:7480", "[::1]:9000", "minio:9000", "s3.eu-west-1.amazonaws.com", "[2001:db8::1]"])(
    "accepts %s", (host) => {
      expect(checkHost(host)).toBe(host);
    },
  );
});
