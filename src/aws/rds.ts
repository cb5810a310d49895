// An RDS IAM authentication token: the password for `rds-db:connect`, a SigV4-presigned
// `GET https://<host>:<port>/?Action=connect&DBUser=<user>` for service rds-db, 15 minutes, without its scheme.
// What @aws-sdk/rds-signer's getAuthToken makes (test/unit/aws/rds.test.ts checks it byte for byte).
import type { Credentials, Presigner } from "./signer.ts";

/** SHA-256 of the empty body: what the RDS token signs as its payload. */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
export const RDS_TOKEN_SECONDS = 900;

export interface RdsTokenRequest {
  hostname: string;
  port: number;
  username: string;
  region: string;
  credentials: Credentials;
  date: Date;
}

export async function rdsAuthToken(presigner: Presigner, request: RdsTokenRequest): Promise<string> {
  const url = await presigner.presign({
    method: "GET",
    protocol: "https:",
    host: `${request.hostname}:${request.port}`,
    path: "/",
    query: { Action: "connect", DBUser: request.username },
    region: request.region,
    service: "rds-db",
    credentials: request.credentials,
    expiresIn: RDS_TOKEN_SECONDS,
    date: request.date,
    payloadHash: EMPTY_SHA256,
  });
  // Every parameter in name order, X-Amz-Signature too, as the SDK writes it (the server reads them in any order).
  const [base, query = ""] = url.slice("https://".length).split("?");
  const pairs = query.split("&").sort((a, b) => {
    const [x, y] = [a.slice(0, a.indexOf("=")), b.slice(0, b.indexOf("="))];
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return `${base}?${pairs.join("&")}`;
}

/** The region in an RDS endpoint's name (`<name>.<id>.<region>.rds.amazonaws.com`), if it is one. */
export function rdsRegion(hostname: string): string | undefined {
  return /\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com(?:\.cn)?$/.exec(hostname)?.[1];
}
