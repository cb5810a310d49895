// Runs in Deno (`deno task test`): deno.ts signs with node:crypto's primitives (src/runtime/node-crypto.ts), whose
// HMAC hashes the key's pads and the message in the key's own buffers. Deno's node:crypto and Buffer must give
// createHmac's answer for every key length and message shape, including the path each length takes.
/// <reference lib="deno.ns" />
import { createHmac, randomBytes } from "node:crypto";
import { midstateSha256, type NodeHmacKey, nodeSha256 } from "../../src/runtime/node-crypto.ts";

for (const [name, sha] of [["by pads", nodeSha256], ["by midstates in JavaScript (deno.ts signs with it)", midstateSha256]] as const) Deno.test(`node:crypto HMAC ${name} equals createHmac on Deno`, () => {
  const messages = (i: number) => [
    "",
    `AWS4-HMAC-SHA256\n20261201T130000Z\n20261201/eu-central-1/s3/aws4_request\n${"ab".repeat(32)}${"z".repeat(i % 60)}`,
    "€".repeat(i % 200), // 3 bytes each: 192 is the longest the one-shot path takes
    "😀".repeat(i % 100),
    "\udc00".repeat(i % 195), // a lone surrogate: UTF-8's replacement character
  ];
  let checked = 0;
  for (let i = 0; i < 400; i++) {
    const raw = randomBytes(i % 101); // 0 to 100 bytes: under, at and over a block
    const key = sha.importKey(new Uint8Array(raw)) as NodeHmacKey & never;
    for (const data of messages(i)) {
      const got = (sha.hmacHex as (key: unknown, data: string) => string)(key, data);
      const want = createHmac("sha256", raw).update(data, "utf8").digest("hex");
      if (got !== want) throw new Error(`key of ${raw.length} bytes, message of ${data.length} code units: ${got} != ${want}`);
      checked++;
    }
  }
  if (checked !== 2000) throw new Error(`checked ${checked}`);
});
