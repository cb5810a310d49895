// node:crypto primitives of the signer: the HMAC by worked-out pads in each key's own buffers must equal
// createHmac's for every key and message shape, in any order of calls (the signer tests check whole URLs).
import * as nodeCrypto from "node:crypto";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAX_MESSAGE_BYTES } from "../../../src/crypto/midstate-hmac.ts";
import { midstateSha256, nodeCryptoSha256, type NodeHmacKey, nodeSha256 } from "../../../src/runtime/node-crypto.ts";

const keys = {
  "32 bytes (a derived signing key)": randomBytes(32),
  "AWS4 + a 40-character secret": Buffer.from("AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
  "exactly one block": randomBytes(64),
  "longer than a block (hashed first)": randomBytes(100),
  empty: Buffer.alloc(0),
};
const messages = {
  empty: "",
  "a string to sign": `AWS4-HMAC-SHA256\n20261201T130000Z\n20261201/eu-central-1/s3/aws4_request\n${"ab".repeat(32)}`,
  "non-ASCII": "naïve ☃ 😀 Ω",
  "a lone surrogate (UTF-8 replacement)": "x\ud800y",
  "192 three-byte characters (576 bytes: the longest the one-shot path takes)": "€".repeat(192),
  "96 surrogate pairs (384 bytes)": "😀".repeat(96),
  "192 lone surrogates (576 bytes of replacement characters)": "\udc00".repeat(192),
  "193 three-byte characters (through createHmac)": "€".repeat(193),
  "193 ASCII characters (through createHmac)": "a".repeat(193),
  "a 6 KB policy": "eyJ".repeat(2048),
  // Where SHA-256's padding takes another block (midstate-hmac.ts pads the message itself): 55/56, 119/120 bytes.
  "55 bytes": "a".repeat(55),
  "56 bytes": "a".repeat(56),
  "63 bytes": "a".repeat(63),
  "64 bytes": "a".repeat(64),
  "119 bytes": "a".repeat(119),
  "120 bytes": "a".repeat(120),
  [`${MAX_MESSAGE_BYTES} bytes (the longest the midstate path takes)`]: "a".repeat(MAX_MESSAGE_BYTES),
  [`${MAX_MESSAGE_BYTES + 1} bytes (through createHmac there)`]: "a".repeat(MAX_MESSAGE_BYTES + 1),
  "167 three-byte characters (501 bytes) and a pair": `${"€".repeat(167)}😀`,
};
const expected = (key: Buffer, data: string) => createHmac("sha256", key).update(data, "utf8").digest("hex");

describe("node:crypto HMAC", () => {
  it("takes the one-shot path on this runtime (Node 20.12+ has crypto.hash)", () => {
    expect(typeof (nodeCrypto as { hash?: unknown }).hash).toBe("function");
  });

  const backEnds = [["crypto.hash pads", nodeSha256], ["createHmac (no crypto.hash)", nodeCryptoSha256(null)], ["midstates in JavaScript (Deno)", midstateSha256]] as const;
  for (const [backEnd, sha] of backEnds as readonly (readonly [string, typeof nodeSha256])[]) {
    describe(backEnd, () => {
      for (const [keyName, raw] of Object.entries(keys)) {
        it(`equals createHmac: key ${keyName}, every message`, () => {
          const key = sha.importKey(new Uint8Array(raw)) as NodeHmacKey; // node:crypto answers at once
          for (const data of Object.values(messages)) {
            expect(sha.hmacHex(key, data)).toBe(expected(raw, data));
            expect(Buffer.from(sha.hmac(key, data) as Uint8Array).toString("hex")).toBe(expected(raw, data));
          }
        });
      }

      it("keeps keys and lengths apart when calls interleave (a longer message, then a shorter one, on each key)", () => {
        const raws = Object.values(keys);
        const imported = raws.map((raw) => sha.importKey(new Uint8Array(raw)) as NodeHmacKey);
        const datas = Object.values(messages);
        for (let i = 0; i < 200; i++) {
          const k = (i * 7) % raws.length;
          const data = `${datas[(i * 3) % datas.length]}${"z".repeat(i % 5)}`;
          expect(sha.hmacHex(imported[k]!, data)).toBe(expected(raws[k]!, data));
        }
      });
    });
  }

  it("hashes as SHA-256 does", () => {
    for (const data of Object.values(messages)) expect(nodeSha256.sha256Hex(data)).toBe(createHash("sha256").update(data, "utf8").digest("hex"));
  });
});
