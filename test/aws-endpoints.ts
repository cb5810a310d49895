// Stand-ins for the AWS credential endpoints that cannot run here, on 127.0.0.1, following the documented protocols:
// - container credentials (ECS task roles, EKS Pod Identity, App Runner):
//   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html,
//   https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html
// - EC2 instance metadata, IMDSv2 only: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html
// - STS query API (AssumeRole, AssumeRoleWithWebIdentity): https://docs.aws.amazon.com/STS/latest/APIReference/
// Each counts what it served and can be switched into a fault: slow, 500, malformed, expired credentials.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";

export interface TestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export type Fault = "none" | "slow" | "500" | "malformed" | "expired";

/** Fake but well-formed temporary credentials, valid for `seconds`. */
export function fakeCredentials(seconds = 3600): TestCredentials {
  return {
    accessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64"),
    sessionToken: randomBytes(96).toString("base64"),
    expiration: new Date(Date.now() + seconds * 1000),
  };
}

export interface Endpoint {
  /** e.g. http://127.0.0.1:40123 */
  origin: string;
  /** Requests answered, by "METHOD path". */
  hits: Map<string, number>;
  /** Requests for credentials (the container GET, the IMDS credentials GET, the STS POST). */
  fetches: () => number;
  fault: Fault;
  /** Milliseconds to wait before answering (on top of a "slow" fault's 1500 ms). */
  delayMs: number;
  close: () => Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => unknown, host = "127.0.0.1") {
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      Promise.resolve(handler(req, res, body)).catch((error) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function count(hits: Map<string, number>, req: IncomingMessage) {
  const key = `${req.method} ${req.url?.split("?")[0]}`;
  hits.set(key, (hits.get(key) ?? 0) + 1);
}

/** What a fault does to an answer; returns true when it answered already. */
async function applyFault(endpoint: Endpoint, res: ServerResponse): Promise<boolean> {
  if (endpoint.delayMs) await sleep(endpoint.delayMs);
  if (endpoint.fault === "slow") await sleep(1500);
  if (endpoint.fault === "500") {
    res.writeHead(500, { "content-type": "text/plain" }).end("Internal Server Error");
    return true;
  }
  return false;
}

// --- Container credentials ------------------------------------------------------------------

export interface ContainerEndpoint extends Endpoint {
  /** The path credentials are served at (ECS: /v2/credentials/<id>; EKS Pod Identity: /v1/credentials). */
  path: string;
  /** The Authorization header value required, when set. */
  token: string | undefined;
  /** Authorization headers received. */
  authorizations: (string | undefined)[];
}

export async function containerEndpoint(options: {
  path?: string;
  token?: string;
  credentials: () => TestCredentials | Promise<TestCredentials>;
  host?: string;
}): Promise<ContainerEndpoint> {
  let fetches = 0;
  const endpoint: ContainerEndpoint = {
    origin: "",
    hits: new Map(),
    fetches: () => fetches,
    fault: "none",
    delayMs: 0,
    close: async () => {},
    path: options.path ?? `/v2/credentials/${randomBytes(8).toString("hex")}`,
    token: options.token,
    authorizations: [],
  };
  const server = await listen(async (req, res) => {
    count(endpoint.hits, req);
    const json = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.url !== endpoint.path) return json(404, { Code: "NotFound", Message: "not found" });
    if (req.method !== "GET") return json(405, { Code: "MethodNotAllowed", Message: "GET only" });
    endpoint.authorizations.push(req.headers.authorization);
    if (endpoint.token !== undefined && req.headers.authorization !== endpoint.token) {
      return json(401, { Code: "AccessDeniedException", Message: "invalid authorization token" });
    }
    fetches++;
    if (await applyFault(endpoint, res)) return;
    if (endpoint.fault === "malformed") return res.writeHead(200, { "content-type": "application/json" }).end('{"AccessKeyId": "ASIA');
    const credentials = await options.credentials();
    const expiration = endpoint.fault === "expired" ? new Date(Date.now() - 60_000) : credentials.expiration;
    json(200, {
      RoleArn: "arn:aws:iam::111122223333:role/signpost-test",
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      Token: credentials.sessionToken,
      Expiration: expiration.toISOString().replace(/\.\d{3}Z$/, "Z"),
    });
  }, options.host);
  endpoint.origin = server.origin;
  endpoint.close = server.close;
  return endpoint;
}

// --- EC2 instance metadata (IMDSv2) ---------------------------------------------------------

export interface ImdsEndpoint extends Endpoint {
  role: string;
  /** Requests refused with 401 for want of a valid session token. */
  unauthorized: () => number;
}

export async function imdsEndpoint(options: {
  role?: string;
  credentials: () => TestCredentials | Promise<TestCredentials>;
  host?: string;
}): Promise<ImdsEndpoint> {
  const tokens = new Map<string, number>(); // token -> expiry (ms)
  let fetches = 0;
  let unauthorized = 0;
  const endpoint: ImdsEndpoint = {
    origin: "",
    hits: new Map(),
    fetches: () => fetches,
    fault: "none",
    delayMs: 0,
    close: async () => {},
    role: options.role ?? "signpost-instance-role",
    unauthorized: () => unauthorized,
  };
  const base = "/latest/meta-data/iam/security-credentials/";
  const server = await listen(async (req, res) => {
    count(endpoint.hits, req);
    const text = (status: number, body: string) => res.writeHead(status, { "content-type": "text/plain" }).end(body);
    if (req.url === "/latest/api/token") {
      if (req.method !== "PUT") return text(405, "Method Not Allowed");
      // A PUT that went through a proxy is refused, so a token never leaves the instance.
      if (req.headers["x-forwarded-for"]) return text(403, "Forbidden");
      const ttl = Number(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return text(400, "Bad Request");
      if (endpoint.fault === "slow") await sleep(1500);
      const token = randomBytes(32).toString("base64");
      tokens.set(token, Date.now() + ttl * 1000);
      res.writeHead(200, { "content-type": "text/plain", "x-aws-ec2-metadata-token-ttl-seconds": String(ttl) }).end(token);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "Method Not Allowed");
    const token = req.headers["x-aws-ec2-metadata-token"];
    if (typeof token !== "string" || !((tokens.get(token) ?? 0) > Date.now())) {
      unauthorized++;
      return text(401, "Unauthorized");
    }
    if (req.url === base) return endpoint.role ? text(200, endpoint.role) : text(404, "Not Found"); // no instance profile
    if (req.url !== `${base}${endpoint.role}`) return text(404, "Not Found");
    fetches++;
    if (await applyFault({ ...endpoint, fault: endpoint.fault === "slow" ? "none" : endpoint.fault }, res)) return;
    if (endpoint.fault === "malformed") return text(200, "{\n  \"Code\" : \"Success\",\n  \"AccessKeyId\" : ");
    const credentials = await options.credentials();
    const expiration = endpoint.fault === "expired" ? new Date(Date.now() - 60_000) : credentials.expiration;
    const iso = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");
    const body = [
      "{",
      '  "Code" : "Success",',
      `  "LastUpdated" : "${iso(new Date())}",`,
      '  "Type" : "AWS-HMAC",',
      `  "AccessKeyId" : "${credentials.accessKeyId}",`,
      `  "SecretAccessKey" : "${credentials.secretAccessKey}",`,
      `  "Token" : "${credentials.sessionToken}",`,
      `  "Expiration" : "${iso(expiration)}"`,
      "}",
    ].join("\n");
    text(200, body);
  }, options.host);
  endpoint.origin = server.origin;
  endpoint.close = server.close;
  return endpoint;
}

// --- STS --------------------------------------------------------------------------------------

export interface StsCallRecord {
  action: string;
  params: Record<string, string>;
  headers: IncomingMessage["headers"];
}

export interface StsEndpoint extends Endpoint {
  calls: StsCallRecord[];
  /** The secret that AssumeRole callers sign with, by access key id; signatures are checked with @smithy/signature-v4. */
  secrets: Map<string, string>;
  /** Web identity tokens accepted; empty: any non-empty token. */
  acceptedTokens: Set<string>;
}

const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";
const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function stsError(res: ServerResponse, status: number, code: string, message: string) {
  res
    .writeHead(status, { "content-type": "text/xml" })
    .end(`<ErrorResponse xmlns="${STS_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomBytes(8).toString("hex")}</RequestId></ErrorResponse>`);
}

/** Checks a SigV4 Authorization header by signing the same request again with @smithy/signature-v4. */
async function signatureMatches(req: IncomingMessage, body: string, secrets: Map<string, string>): Promise<boolean> {
  const authorization = req.headers.authorization ?? "";
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!match) return false;
  const [, accessKeyId, , region, service, signedHeaders, signature] = match;
  const secretAccessKey = secrets.get(accessKeyId!);
  if (!secretAccessKey) return false;
  const amzDate = String(req.headers["x-amz-date"]);
  const date = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
  const headers: Record<string, string> = {};
  for (const name of signedHeaders!.split(";")) headers[name] = String(req.headers[name] ?? "");
  const sessionToken = req.headers["x-amz-security-token"];
  const signer = new SignatureV4({
    service: service!,
    region: region!,
    credentials: { accessKeyId: accessKeyId!, secretAccessKey, ...(typeof sessionToken === "string" ? { sessionToken } : {}) },
    sha256: Hash.bind(null, "sha256"),
    applyChecksum: false,
  });
  const signed = (await signer.sign(
    { method: req.method!, protocol: "http:", hostname: headers.host!.split(":")[0]!, path: req.url!, query: {}, headers, body } as any,
    { signingDate: date },
  )) as unknown as { headers: Record<string, string> };
  return String(signed.headers.authorization ?? signed.headers.Authorization) === authorization;
}

export async function stsEndpoint(options: {
  credentials: (call: StsCallRecord) => TestCredentials | Promise<TestCredentials>;
}): Promise<StsEndpoint> {
  let fetches = 0;
  const endpoint: StsEndpoint = {
    origin: "",
    hits: new Map(),
    fetches: () => fetches,
    fault: "none",
    delayMs: 0,
    close: async () => {},
    calls: [],
    secrets: new Map(),
    acceptedTokens: new Set(),
  };
  const server = await listen(async (req, res, body) => {
    count(endpoint.hits, req);
    if (req.method !== "POST") return stsError(res, 400, "InvalidAction", "signpost's stand-in answers POST only");
    if (!String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded")) {
      return stsError(res, 400, "InvalidParameterValue", "form body expected");
    }
    const params = Object.fromEntries(new URLSearchParams(body));
    const call = { action: params.Action ?? "", params, headers: req.headers };
    endpoint.calls.push(call);
    if (params.Version !== "2011-06-15") return stsError(res, 400, "InvalidParameterValue", "Version must be 2011-06-15");
    if (call.action === "AssumeRole") {
      if (!(await signatureMatches(req, body, endpoint.secrets))) {
        return stsError(res, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
      }
    } else if (call.action === "AssumeRoleWithWebIdentity") {
      if (req.headers.authorization) return stsError(res, 400, "InvalidParameterValue", "AssumeRoleWithWebIdentity is not signed");
      const token = params.WebIdentityToken ?? "";
      if (!token || (endpoint.acceptedTokens.size > 0 && !endpoint.acceptedTokens.has(token))) {
        return stsError(res, 400, "InvalidIdentityToken", "The web identity token that was passed could not be validated by AWS.");
      }
    } else {
      return stsError(res, 400, "InvalidAction", `unknown action ${call.action}`);
    }
    if (!params.RoleArn || !/^[\w+=,.@-]{2,64}$/.test(params.RoleSessionName ?? "")) {
      return stsError(res, 400, "ValidationError", "RoleArn and a valid RoleSessionName are required");
    }
    fetches++;
    if (await applyFault(endpoint, res)) return;
    if (endpoint.fault === "malformed") {
      return res.writeHead(200, { "content-type": "text/xml" }).end(`<${call.action}Response xmlns="${STS_NS}"><${call.action}Result><Credentials><AccessKeyId>ASIA`);
    }
    const credentials = await options.credentials(call);
    const expiration = endpoint.fault === "expired" ? new Date(Date.now() - 60_000) : credentials.expiration;
    const result = [
      `<${call.action}Response xmlns="${STS_NS}">`,
      `  <${call.action}Result>`,
      call.action === "AssumeRoleWithWebIdentity" ? "    <SubjectFromWebIdentityToken>system:serviceaccount:default:signpost</SubjectFromWebIdentityToken>\n    <Audience>sts.amazonaws.com</Audience>" : "",
      "    <AssumedRoleUser>",
      `      <Arn>arn:aws:sts::111122223333:assumed-role/signpost/${xmlEscape(params.RoleSessionName!)}</Arn>`,
      `      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:${xmlEscape(params.RoleSessionName!)}</AssumedRoleId>`,
      "    </AssumedRoleUser>",
      "    <Credentials>",
      `      <SessionToken>${xmlEscape(credentials.sessionToken)}</SessionToken>`,
      `      <SecretAccessKey>${xmlEscape(credentials.secretAccessKey)}</SecretAccessKey>`,
      `      <Expiration>${expiration.toISOString()}</Expiration>`,
      `      <AccessKeyId>${xmlEscape(credentials.accessKeyId)}</AccessKeyId>`,
      "    </Credentials>",
      `  </${call.action}Result>`,
      `  <ResponseMetadata><RequestId>${randomBytes(8).toString("hex")}</RequestId></ResponseMetadata>`,
      `</${call.action}Response>`,
    ].join("\n");
    res.writeHead(200, { "content-type": "text/xml" }).end(result);
  });
  endpoint.origin = server.origin;
  endpoint.close = server.close;
  return endpoint;
}
