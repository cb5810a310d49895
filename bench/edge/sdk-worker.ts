// The AWS SDK baseline Worker for bench/edge.ts: signpost's GET /aws/storage/<account>/<bucket>/<key> done the usual
// way on Workers: a bearer check, the account from Workers KV (JSON, read once per isolate), and
// @aws-sdk/s3-request-presigner with one S3Client per account. Built like signpost's Worker (wrangler, minify).
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { KVNamespace } from "@cloudflare/workers-types";

interface Env {
  ACCOUNTS: KVNamespace;
  BENCH_TOKEN: string;
}

interface Account {
  region: string;
  "access-key-id": string;
  "secret-access-key": string;
}

const PREFIX = "/aws/storage/";
const EXPIRES_IN = 86400;
const clients = new Map<string, S3Client>();
const headers = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };
const json = (body: unknown, status: number) => new Response(JSON.stringify(body), { status, headers });

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.headers.get("authorization") !== `Bearer ${env.BENCH_TOKEN}`) return json({ error: "unauthorized" }, 401);
    const { pathname } = new URL(request.url);
    if (request.method !== "GET" || !pathname.startsWith(PREFIX)) return json({ error: "not found" }, 404);
    const [accountId = "", bucket = "", ...key] = pathname.slice(PREFIX.length).split("/");
    const id = decodeURIComponent(accountId);
    let client = clients.get(id);
    if (!client) {
      const account = await env.ACCOUNTS.get<Account>(`sdk-account/${id}`, "json");
      if (!account) return json({ error: "not found" }, 404);
      client = new S3Client({
        region: account.region,
        credentials: { accessKeyId: account["access-key-id"], secretAccessKey: account["secret-access-key"] },
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
      });
      clients.set(id, client);
    }
    const signingDate = new Date();
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: decodeURIComponent(bucket), Key: key.map(decodeURIComponent).join("/") }), {
      expiresIn: EXPIRES_IN,
      signingDate,
    });
    const expiresAt = new Date(Math.floor(signingDate.getTime() / 1000) * 1000 + EXPIRES_IN * 1000);
    return json({ url, "expires-at": expiresAt.toISOString().replace(".000Z", "Z") }, 200);
  },
};
