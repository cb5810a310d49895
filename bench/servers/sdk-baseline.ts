// The SDK baseline for bench/http.ts: the same job as signpost's GET /aws/storage/<account>/<bucket>/<key>, done the
// usual way: Hono on @hono/node-server, a bearer check, the account from a Map, and @aws-sdk/s3-request-presigner
// with one S3Client (static credentials) per account, reused. No request log.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

interface Account {
  region: string;
  "access-key-id": string;
  "secret-access-key": string;
}

const token = process.env.BENCH_TOKEN;
if (!token) throw new Error("BENCH_TOKEN is required");
const accounts = new Map<string, Account>(Object.entries(JSON.parse(process.env.BENCH_ACCOUNTS ?? "{}")));
const clients = new Map<string, S3Client>();
const EXPIRES_IN = 86400;
const PREFIX = "/aws/storage/";
const headers = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

function client(id: string, account: Account): S3Client {
  let s3 = clients.get(id);
  if (!s3) {
    s3 = new S3Client({
      region: account.region,
      credentials: { accessKeyId: account["access-key-id"], secretAccessKey: account["secret-access-key"] },
      // Without this, newer SDKs add checksum parameters nobody asked for.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    clients.set(id, s3);
  }
  return s3;
}

const json = (body: unknown, status: number, extra: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { ...headers, ...extra } });

const app = new Hono();
app.get("/aws/storage/:account/:bucket/*", async (c) => {
  if (c.req.header("authorization") !== `Bearer ${token}`) {
    return json({ resourceType: "OperationOutcome", issue: [{ severity: "error", code: "login" }] }, 401, { "www-authenticate": "Bearer" });
  }
  const url = c.req.url;
  const start = url.indexOf(PREFIX, url.indexOf("//") + 2) + PREFIX.length;
  const end = url.indexOf("?", start);
  const [accountId = "", bucket = "", ...key] = url.slice(start, end === -1 ? undefined : end).split("/");
  const id = decodeURIComponent(accountId);
  const account = accounts.get(id);
  if (!account) return json({ resourceType: "OperationOutcome", issue: [{ severity: "error", code: "not-found" }] }, 404);
  const signingDate = new Date();
  const signed = await getSignedUrl(
    client(id, account),
    new GetObjectCommand({ Bucket: decodeURIComponent(bucket), Key: key.map(decodeURIComponent).join("/") }),
    { expiresIn: EXPIRES_IN, signingDate },
  );
  const expiresAt = new Date(Math.floor(signingDate.getTime() / 1000) * 1000 + EXPIRES_IN * 1000);
  return json({ url: signed, "expires-at": expiresAt.toISOString().replace(".000Z", "Z") }, 200);
});

serve({ fetch: app.fetch, port: Number(process.env.PORT || 0), hostname: process.env.HOST || "127.0.0.1" }, (info) => {
  process.stderr.write(`${JSON.stringify({ message: "listening", url: `http://${info.address}:${info.port}` })}\n`);
});
process.once("SIGTERM", () => process.exit(0));
