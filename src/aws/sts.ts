// A small STS client: AssumeRole (SigV4 header-signed) and AssumeRoleWithWebIdentity (unsigned), both POSTs of a
// form to the query API (https://docs.aws.amazon.com/STS/latest/APIReference/). STS must be POSTed to: an
// S3-compatible server that also serves STS on its S3 port (Ceph RGW, MinIO) takes a GET as an S3 request.
import type { Credentials, HeaderSigner } from "./signer.ts";
import { encodeRfc3986 } from "./signer.ts";
import { awsDnsSuffix } from "./s3url.ts";
import { element, errorText, leaf } from "./xml.ts";
import type { HostIO } from "../credentials/provider.ts";
import { parseTimestamp } from "../credentials/provider.ts";
import { describeError } from "../errors.ts";
import { awsCall } from "./client.ts";

export const STS_TIMEOUT_MS = 5000;
const ATTEMPTS = 3; // as the SDK's standard retry strategy
const STS_ANSWER_BYTES = 256 * 1024;

export interface StsEndpoint {
  url: URL;
  /** The region to sign for. */
  region: string;
}

/**
 * Where STS calls go: AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL (as the AWS SDKs, unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true); else `host` (an S3-compatible server: MinIO and Ceph serve STS there);
 * else the regional endpoint, or the global one when no region is known.
 */
export function stsEndpoint(env: HostIO["env"], region: string | undefined, host?: { host: string; useSsl: boolean }): StsEndpoint | string {
  const signingRegion = region || "us-east-1";
  const ignore = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === "true";
  for (const name of ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"] as const) {
    const value = ignore ? undefined : env[name];
    if (!value) continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return `${name} is not a URL`;
    }
    if ((url.protocol !== "https:" && url.protocol !== "http:") || url.search || url.hash || url.username || url.password) {
      return `${name} must be an http(s) URL without query, fragment or user info`;
    }
    return { url, region: signingRegion };
  }
  if (host) return { url: new URL(`${host.useSsl ? "https" : "http"}://${host.host}/`), region: signingRegion };
  return { url: new URL(region ? `https://sts.${region}.${awsDnsSuffix(region)}/` : "https://sts.amazonaws.com/"), region: signingRegion };
}

/** Credentials from an STS `<Action>Response`, or a reason why there are none. */
export function parseStsCredentials(xml: string, action: string): Credentials | string {
  const result = element(xml, `${action}Result`);
  const block = result === undefined ? undefined : element(result, "Credentials");
  if (block === undefined) return `the answer has no ${action}Result/Credentials`;
  const accessKeyId = leaf(block, "AccessKeyId");
  const secretAccessKey = leaf(block, "SecretAccessKey");
  const sessionToken = leaf(block, "SessionToken");
  const expirationText = leaf(block, "Expiration");
  if (!accessKeyId || !secretAccessKey || !sessionToken || !expirationText) {
    return "the answer lacks AccessKeyId, SecretAccessKey, SessionToken or Expiration";
  }
  const expiration = parseTimestamp(expirationText);
  if (!expiration) return "Expiration in the answer is not an RFC 3339 timestamp";
  return { accessKeyId, secretAccessKey, sessionToken, expiration };
}

export interface StsCall {
  endpoint: StsEndpoint;
  action: "AssumeRole" | "AssumeRoleWithWebIdentity";
  params: Record<string, string | undefined>;
  /** AssumeRole is signed with the source credentials; AssumeRoleWithWebIdentity is not signed. */
  signWith?: { signer: HeaderSigner; credentials: Credentials };
  timeoutMs?: number;
}

/** Calls STS; resolves with credentials or a reason (never a secret: the token and keys stay out of it). */
export async function callSts(io: HostIO, call: StsCall): Promise<Credentials | string> {
  const { url, region } = call.endpoint;
  const params: Record<string, string | undefined> = { Action: call.action, Version: "2011-06-15", ...call.params };
  const body = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${encodeRfc3986(name)}=${encodeRfc3986(value)}`)
    .join("&");
  const where = `STS ${call.action} at ${url.origin}`;
  let answer;
  try {
    answer = await awsCall({ ...(io.fetch ? { fetch: io.fetch } : {}), now: io.now ?? Date.now }, {
      method: "POST", url, headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" }, body,
      ...(call.signWith ? { sign: { ...call.signWith, region, service: "sts" } } : {}),
      timeoutMs: call.timeoutMs ?? STS_TIMEOUT_MS, maxBytes: STS_ANSWER_BYTES, attempts: ATTEMPTS,
    });
  } catch (error) {
    return `${where}: ${error instanceof Error && (error.name === "UnsafeAnswer" || error.name === "AnswerTooLarge") ? error.message : describeError(error)}`;
  }
  if (answer.status === 200) {
    const credentials = parseStsCredentials(answer.text, call.action);
    return typeof credentials === "string" ? `${where}: ${credentials}` : credentials;
  }
  const error = errorText(answer.text);
  return `${where}: HTTP ${answer.status}${error.text ? ` ${error.text}` : ""}`;
}
