// The cached timestamp formatter of the request log and audit line must always equal toISOString; the lines
// themselves must read back as their entries.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Context } from "../../../src/http/context.ts";
import { auditor, isoClock, jsonString, type Log, type LogEntry } from "../../../src/http/log.ts";
import { storageTestApp } from "../../app.ts";

describe("isoClock", () => {
  it("equals toISOString for any time, in any order, across second boundaries", () => {
    const iso = isoClock();
    const moments = fc.oneof(
      fc.integer({ min: -62_198_755_200_000, max: 253_402_300_799_999 }), // years 0000 to 9999
      fc.integer({ min: -8.64e15, max: 8.64e15 }), // any year a Date holds (six digits and a sign past 9999)
      fc.integer({ min: 1_795_000_000_000, max: 1_795_000_003_000 }), // a few seconds, so the cached part is reused
      fc.constantFrom(0, -1, 999, 1000, 1_795_000_000_999, 1_795_000_001_000, 1_795_000_000_123.5, -0.5, -1000.25),
    );
    fc.assert(
      fc.property(fc.array(moments, { minLength: 1, maxLength: 20 }), (list) => {
        for (const ms of list) expect(iso(ms)).toBe(new Date(ms).toISOString()); // which the lines quote as it is
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});

// Lines written from their parts (log.ts) must read as their entries, exactly as JSON.stringify writes them:
// test/app.ts's log refuses any other line, so these drive the lines with what JSON must escape.
describe("the request log and audit lines", () => {
  const char = fc.oneof(fc.constantFrom('"', "\\", "\u2028", "é", "😀", "/", " ", "%", "+", "<", "'"), fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }), fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }));
  const key = fc.string({ unit: char, minLength: 1, maxLength: 30 }).filter((k) => !k.startsWith("/") && !/(?:^|\/)\.\.?(?:\/|$)/.test(k) && !/[\u0000-\u001f\u007f-\u009f]/.test(k));

  it("write a string as JSON.stringify does, whatever it holds", () => {
    const any = fc.string({ unit: fc.oneof(char, fc.constantFrom("\u0000", "\u001f", "\u007f", "\ud800", "\udfff", "\t")), maxLength: 40 });
    fc.assert(fc.property(any, (value) => {
      expect(jsonString(value)).toBe(JSON.stringify(value));
    }), { numRuns: 5000, seed: 18 });
    for (const value of ["", " ", "~", '"', "\\", "\u007f", "a\nb"]) expect(jsonString(value)).toBe(JSON.stringify(value));
  });

  it("read back as their entries for any key, single or batched, and for refusals", async () => {
    const t = await storageTestApp();
    await fc.assert(
      fc.asyncProperty(key, key, fc.string({ unit: char, maxLength: 20 }), async (a, b, user) => {
        t.logs.length = 0;
        const path = `/aws/storage/acc/my-bucket/${encodeURIComponent(a).replaceAll("%2F", "/")}`;
        expect((await t.call({ method: "GET", path })).status).toBe(200);
        expect((await t.call({ method: "POST", path: "/aws/storage/acc/my-bucket?expiration=60", body: { filename: b, "content-type": "text/plain" } })).status).toBe(200);
        const files = [{ filename: a, method: "GET" }, { filename: b, method: "PUT" }, { filename: a, method: "DELETE" }];
        expect((await t.call({ method: "POST", path: "/aws/storage/acc/my-bucket/$presign-batch", body: { files } })).status).toBe(200);
        const basic = `Basic ${Buffer.from(`${user}:x`).toString("base64")}`;
        expect((await t.call({ method: "GET", path, auth: basic })).status).toBe(401);
        const audit = t.logs.filter((line) => line.audit);
        expect(audit.map((line) => [line["s3-method"], line.key, line.who, line["expires-in"]])).toEqual([
          ["GET", a, "admin", 86400], ["PUT", b, "admin", 60], ["GET", a, "admin", 86400], ["PUT", b, "admin", 86400], ["DELETE", a, "admin", 86400],
        ]);
        expect(audit[1]).toMatchObject({ action: "presign", account: "acc", bucket: "my-bucket", signed: "content-type" });
        expect(audit.slice(2).every((line) => line.batch === true)).toBe(true);
        const requests = t.logs.filter((line) => !line.audit);
        expect(requests.map((line) => [line.method, line.status])).toEqual([["GET", 200], ["POST", 200], ["POST", 200], ["GET", 401]]);
        expect(requests[0]!.path).toBe(path);
        expect(requests[3]).toMatchObject({ who: expect.any(String), refused: expect.any(String) });
      }),
      { numRuns: 150, seed: 18 },
    );
  });

  it("reach a log that keeps entries as entries", async () => {
    const entries: LogEntry[] = [];
    const log: Log = (entry) => entries.push(entry);
    const iso = isoClock();
    const audit = auditor(log, () => 0, iso);
    const user = { get: () => ({ admin: false, name: 'user "x\\" of issuer/a' }) } as unknown as Context; // a token's subject
    audit.urls(user, ',"action":"presign","bucket":"a\\"b"')(',"key":"k\\\\"');
    audit({ get: () => ({ admin: true }) } as unknown as Context, { action: "delete", resource: "Client/x" });
    expect(entries).toEqual([
      { audit: true, time: "1970-01-01T00:00:00.000Z", who: 'user "x\\" of issuer/a', action: "presign", bucket: 'a"b', key: "k\\" },
      { audit: true, time: "1970-01-01T00:00:00.000Z", who: "admin", action: "delete", resource: "Client/x" },
    ]);
  });
});
