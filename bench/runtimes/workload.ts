// The signer workload for bench/runtimes.ts, in Web-standard code only, so the same module runs on Node, in workerd
// (bundled into bench/runtimes/worker.ts) and in Deno (bench/runtimes/deno.ts): our signer on Web Crypto, and
// aws4fetch's AwsV4Signer (the usual small Web Crypto signer) as the reference, on the same PUT requests as
// bench/signer.ts uses.
import { AwsV4Signer } from "aws4fetch";
import { createPresigner, encodeRfc3986, type PresignRequest, webCryptoSha256 } from "../../src/aws/signer.ts";

export const REGION = "eu-central-1";
export const BUCKET = "signpost-bench";
export const HOST = `${BUCKET}.s3.${REGION}.amazonaws.com`;
export const DATE = new Date("2026-01-02T03:04:05Z");
const AMZ_DATE = "20260102T030405Z";
export const EXPIRES_IN = 3600;
export const CREDENTIALS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };

const KEY_COUNT = 256;
export const PATHS = Array.from({ length: KEY_COUNT }, (_, i) => {
  const id = ((i * 2654435761) >>> 0).toString(16).padStart(8, "0");
  const name = ["photo", "scan", "résumé", "отчёт", "報告"][i % 5];
  return `/${`patients/${id}/attachments/${name} ${i}.${i % 2 ? "pdf" : "jpg"}`.split("/").map(encodeRfc3986).join("/")}`;
});

/** Request i of the workload, as our signer takes it. */
export const presignRequest = (i: number): PresignRequest => ({
  method: "PUT", protocol: "https:", host: HOST, path: PATHS[i % KEY_COUNT]!, region: REGION, credentials: CREDENTIALS, expiresIn: EXPIRES_IN, date: DATE,
});

const ours = createPresigner(webCryptoSha256());
const aws4fetchCache = new Map<string, ArrayBuffer>();

export type Who = "ours" | "aws4fetch";

/** The URL for request i, signed by `who`. */
export async function sign(who: Who, i: number): Promise<string> {
  if (who === "ours") return ours.presign(presignRequest(i));
  const path = PATHS[i % KEY_COUNT]!;
  const signer = new AwsV4Signer({
    ...CREDENTIALS,
    url: `https://${HOST}${path}?X-Amz-Expires=${EXPIRES_IN}`,
    method: "PUT",
    service: "s3",
    region: REGION,
    cache: aws4fetchCache,
    datetime: AMZ_DATE,
    signQuery: true,
  });
  return (await signer.sign()).url.toString();
}

/** Signs URLs 0 to n-1 one after the other (each awaited); returns the last, so nothing is optimised away. */
export async function signEach(n: number, signOne: (i: number) => string | Promise<string>): Promise<string> {
  let last = "";
  for (let i = 0; i < n; i++) last = await signOne(i);
  return last;
}

export const signMany = (who: Who, n: number): Promise<string> => signEach(n, (i) => sign(who, i));
