// Keys signpost places or chooses for uploads (issue 15), and Uppy's metadata as S3 user metadata.
import { describe, expect, it } from "vitest";
import { ADMIN, type Caller } from "../../../src/domain/policy.ts";
import { freshKey, keyInFolder, MAX_METADATA_BYTES, userMetadata } from "../../../src/domain/upload-keys.ts";

const client = (prefixes?: string[]): Caller => ({ admin: false, id: "app", policy: { operations: ["upload"], accounts: ["*"], buckets: ["*"], ...(prefixes ? { prefixes } : {}) } });
// An end user: its policy comes filled in from the token's claims.
const user: Caller = { admin: false, id: "idp:alice", name: "jwt:idp:alice", policy: { operations: ["upload"], accounts: ["*"], buckets: ["*"], prefixes: ["users/alice/", "shared/"] } };

describe("keyInFolder", () => {
  it("puts a bare name in the caller's first prefix (templates filled), and nothing else", () => {
    expect(keyInFolder(client(["users/{client}/", "shared/"]), "x.png")).toBe("users/app/x.png");
    expect(keyInFolder(user, "x.png")).toBe("users/alice/x.png");
    expect(keyInFolder(user, "shared/x.png")).toBe("shared/x.png");
    expect(keyInFolder(user, "shared.png")).toBe("users/alice/shared.png");
    expect(keyInFolder(user, "users/bob/x.png")).toBe("users/bob/x.png"); // a folder of its own: judged, not moved
    expect(keyInFolder(client(), "x.png")).toBe("x.png");
    expect(keyInFolder(client([]), "x.png")).toBe("x.png");
    expect(keyInFolder(ADMIN, "x.png")).toBe("x.png");
  });

  it("checks the key it makes (a too long name in a folder)", () => {
    expect(() => keyInFolder(user, "x".repeat(1020))).toThrow(/longer than 1024/);
  });
});

describe("freshKey", () => {
  it("is <folder><uuid>-<name>, different each time, the name one segment", () => {
    const a = freshKey(user, "a/b\\c.txt");
    expect(a).toMatch(/^users\/alice\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-a_b_c\.txt$/);
    expect(freshKey(user, "a/b\\c.txt")).not.toBe(a);
    expect(freshKey(ADMIN, "..")).toMatch(/^[0-9a-f-]{36}-\.\.$/);
  });

  it.each([[""], ["x".repeat(256)], ["a\u0000b"], ["\ud800"], [5], [undefined]])("refuses %j", (name) => {
    expect(() => freshKey(user, name)).toThrow(/filename must be 1 to 255 characters/);
  });
});

describe("userMetadata", () => {
  it("names them x-amz-meta-<lower case>, keeps plain ASCII, encodes the rest as RFC 2047, skips null", () => {
    expect(userMetadata({ Name: "cat.png", size: 12, ok: true, relativePath: null, note: "naïve", padded: " x " })).toEqual({
      "x-amz-meta-name": "cat.png",
      "x-amz-meta-size": "12",
      "x-amz-meta-ok": "true",
      "x-amz-meta-note": `=?UTF-8?B?${Buffer.from("naïve").toString("base64")}?=`,
      "x-amz-meta-padded": `=?UTF-8?B?${Buffer.from(" x ").toString("base64")}?=`,
    });
    expect(userMetadata(undefined)).toEqual({});
  });

  it("holds S3's limit and refuses what is no header", () => {
    expect(Object.keys(userMetadata({ k: "v".repeat(MAX_METADATA_BYTES - 1) }))).toEqual(["x-amz-meta-k"]);
    expect(() => userMetadata({ k: "v".repeat(MAX_METADATA_BYTES) })).toThrow(/larger than S3's 2048 bytes/);
    for (const bad of [{ "a b": "1" }, { "a:b": "1" }, { "": "1" }, { "-a": "1" }, { "x\r\ny": "1" }]) expect(() => userMetadata(bad)).toThrow(/metadata names are/);
    expect(() => userMetadata({ a: { b: 1 } })).toThrow(/a string, a number or a boolean/);
    expect(() => userMetadata(["a"])).toThrow(/an object/);
    expect(() => userMetadata({ A: "1", a: "2" })).toThrow(/given twice/);
  });
});
