// Presign answers are written from their parts (presigned.ts), URLs as they are: the text must be JSON.stringify's,
// and the URLs must be what that relies on (printable ASCII without '"' or '\') whatever the key, query or host.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createPresigner } from "../../../src/aws/signer.ts";
import { objectLocation } from "../../../src/aws/s3url.ts";
import { checkHost } from "../../../src/domain/names.ts";
import { presignedJson, type PresignedBody } from "../../../src/http/presigned.ts";
import { nodeSha256 } from "../../../src/runtime/node-crypto.ts";

const JSON_AS_IS = /^[\x20-\x7e]*$/; // JSON writes these as they are, but for '"' and '\'
// Any text, with what JSON escapes and URLs encode more often than chance would give it.
const char = fc.oneof(fc.constantFrom('"', "\\", "\u0000", "\n", "\u007f", "\u2028", "\ud800", "\udc00", "é", "😀", "/", " ", "%", "+", "&", "="), fc.string({ unit: "binary", minLength: 1, maxLength: 1 }));
const text = fc.string({ unit: char, maxLength: 40 });
// URLs as the signer makes them, and printable ASCII with quotes and backslashes (written through JSON.stringify).
const url = fc.oneof(fc.string({ unit: fc.constantFrom(..."AZaz09-._~%/?&=:"), maxLength: 60 }), fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }));
const headers = fc.option(fc.dictionary(text, text, { maxKeys: 4 }), { nil: undefined });
const withHeaders = <T extends object>(entry: T, h: Record<string, string> | undefined) => (h === undefined ? entry : { ...entry, headers: h });

describe("presignedJson", () => {
  it("writes every answer as JSON.stringify does: one URL or a batch, with headers, capped or not", () => {
    const single = fc.record({ url, headers, capped: fc.boolean(), at: text }).map(({ url, headers: h, capped, at }): PresignedBody => ({
      ...withHeaders({ url }, h), "expires-at": at, ...(capped ? { "expiry-capped": true as const } : {}),
    }));
    const batch = fc.record({
      urls: fc.array(fc.record({ filename: text, method: fc.constantFrom("GET", "HEAD", "PUT", "DELETE"), url, headers }), { minLength: 1, maxLength: 5 }),
      capped: fc.boolean(),
      at: text,
    }).map(({ urls, capped, at }): PresignedBody => ({
      urls: urls.map(({ headers: h, ...entry }) => withHeaders(entry, h)), "expires-at": at, ...(capped ? { "expiry-capped": true as const } : {}),
    }));
    fc.assert(fc.property(fc.oneof(single, batch), (answer) => {
      expect(presignedJson(answer)).toBe(JSON.stringify(answer));
    }), { numRuns: 3000, seed: 18 });
  });

  it("takes the URLs the signer makes as they are: printable ASCII without quotes or backslashes, whatever the key, query and token", async () => {
    const presigner = createPresigner(nodeSha256);
    const hosts = fc.oneof(fc.constant(undefined), fc.string({ unit: char, maxLength: 30 }), fc.constantFrom("127.0.0.1:9000", "[::1]:9000", "S3.Example.COM", "minio"));
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: char, minLength: 1, maxLength: 60 }), fc.dictionary(text, text, { maxKeys: 3 }), fc.option(text, { nil: undefined }), hosts, fc.boolean(), async (key, query, token, host, ssl) => {
        let checked: string | undefined;
        try {
          checked = host === undefined ? undefined : checkHost(host); // what an account may hold
        } catch {
          return;
        }
        let made: string;
        try {
          const location = objectLocation({ region: "eu-west-1", ...(checked ? { host: checked } : {}), "path-style": false, "use-ssl": ssl }, "my-bucket", key);
          made = await presigner.presign({
            method: "GET", ...location, query, region: "eu-west-1", expiresIn: 60, date: new Date(0),
            credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret", ...(token ? { sessionToken: token } : {}) },
          });
        } catch (error) {
          if (error instanceof URIError) return; // a lone surrogate: no URL at all (keys and names with one are refused before)
          throw error;
        }
        expect(made).toMatch(JSON_AS_IS);
        expect(made).not.toMatch(/["\\]/);
      }),
      { numRuns: 2000, seed: 18 },
    );
  });
});
