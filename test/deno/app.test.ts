// Runs in Deno (`deno task test`): the core app on Deno KV (in memory) and Web Crypto, the parts deno.ts uses.
/// <reference lib="deno.ns" />
/// <reference lib="deno.unstable" />
import { createApp } from "../../src/app.ts";
import { fromEnv } from "../../src/credentials/env.ts";
import { createSealer } from "../../src/crypto/seal.ts";
import { createPresigner, webCryptoSha256 } from "../../src/aws/signer.ts";
import { denoKvStore } from "../../src/store/kv.ts";

function assertEquals(actual: unknown, expected: unknown, message = "") {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${message} expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

Deno.test("accounts in Deno KV and URLs signed with Web Crypto", async () => {
  const kv = await Deno.openKv(":memory:");
  const now = Date.UTC(2013, 4, 24);
  const app = createApp({
    store: denoKvStore(kv, "AwsAccount"),
    clients: denoKvStore(kv, "Client"),
    introspectors: denoKvStore(kv, "TokenIntrospector"),
    sealer: await createSealer(btoa("deno-test-key-with-32-bytes-long")),
    credentials: fromEnv({}),
    presigner: createPresigner(webCryptoSha256()),
    config: { adminToken: "deno-test-admin-token" },
    now: () => now,
  });
  const headers = { authorization: "Bearer deno-test-admin-token" };
  const put = await app.request("/AwsAccount/docs", {
    method: "PUT",
    headers: { ...headers, "content-type": "text/yaml" },
    body: "region: us-east-1\naccess-key-id: AKIAIOSFODNN7EXAMPLE\nsecret-access-key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nhost: s3.amazonaws.com\n",
  });
  assertEquals(put.status, 201, "PUT status");
  const stored = await kv.get<Uint8Array>(["AwsAccount", "docs"]);
  assertEquals(stored.value instanceof Uint8Array, true, "stored as JSON bytes");
  const text = new TextDecoder().decode(stored.value!);
  assertEquals(text.includes("wJalrXUtnFEMI"), false, "secret sealed at rest");
  assertEquals(/"secret-access-key":"sealed:v1:/.test(text), true, "sealed format");

  // The S3 documentation's presigned GET example (examplebucket/test.txt, 2013-05-24, 86400 s).
  const response = await app.request("/aws/storage/docs/examplebucket/test.txt", { headers });
  assertEquals(response.status, 200, "GET status");
  const url = new URL((await response.json()).url);
  assertEquals(url.searchParams.get("X-Amz-Signature"), "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", "AWS example signature");

  assertEquals((await app.request("/AwsAccount/missing", { headers })).status, 404, "missing account");
  kv.close();
});
