// Each credential source against local stand-ins of its AWS endpoint (test/aws-endpoints.ts), configured through
// the documented environment variables, with Node's real I/O (src/runtime/node-io.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { containerSource } from "../../../src/credentials/container.ts";
import { envSource } from "../../../src/credentials/env.ts";
import { imdsEndpoint as imdsUrl, imdsSource } from "../../../src/credentials/imds.ts";
import { parseIni } from "../../../src/credentials/ini.ts";
import type { HostIO, SourceResult } from "../../../src/credentials/provider.ts";
import { sharedFilesSource } from "../../../src/credentials/shared-files.ts";
import { callSts, parseStsCredentials, stsEndpoint as stsUrl } from "../../../src/aws/sts.ts";
import { webIdentitySource } from "../../../src/credentials/web-identity.ts";
import { nodeIo } from "../../../src/runtime/node-io.ts";
import { nodeSha256 } from "../../../src/runtime/node-crypto.ts";
import { createPresigner } from "../../../src/aws/signer.ts";
import {
  containerEndpoint,
  fakeCredentials,
  imdsEndpoint,
  stsEndpoint,
  type ContainerEndpoint,
  type ImdsEndpoint,
  type StsEndpoint,
  type TestCredentials,
} from "../../aws-endpoints.ts";

const dir = mkdtempSync(join(tmpdir(), "signpost-credentials-"));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const signer = createPresigner(nodeSha256);
/** Node's I/O with only the given variables (never the test runner's own AWS_* or ~/.aws). */
const io = (env: Record<string, string>): HostIO => nodeIo({ HOME: join(dir, "no-home"), ...env });

function expectCredentials(result: SourceResult, expected: Partial<TestCredentials>) {
  expect(result, JSON.stringify(result)).toHaveProperty("credentials");
  const { credentials } = result as { credentials: TestCredentials };
  for (const [name, value] of Object.entries(expected)) {
    if (value instanceof Date) expect(Math.abs(credentials.expiration.getTime() - value.getTime())).toBeLessThan(1000);
    else expect(credentials[name as keyof TestCredentials]).toBe(value);
  }
}
const failed = (result: SourceResult) => {
  expect(result, JSON.stringify(result)).toHaveProperty("failed");
  return (result as { failed: string }).failed;
};
const skipped = (result: SourceResult) => {
  expect(result, JSON.stringify(result)).toHaveProperty("skipped");
  return (result as { skipped: string }).skipped;
};

// ---------------------------------------------------------------------------------------------

describe("environment", () => {
  it("reads keys, session token and expiration", async () => {
    const result = await envSource({ AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "secret", AWS_SESSION_TOKEN: "tok", AWS_CREDENTIAL_EXPIRATION: "2030-01-02T03:04:05Z" }).resolve();
    expect(result).toEqual({ credentials: { accessKeyId: "AKID", secretAccessKey: "secret", sessionToken: "tok", expiration: new Date("2030-01-02T03:04:05Z") } });
  });

  it("steps aside when AWS_PROFILE is set (in the chain), or when a key is missing", async () => {
    const env = { AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "secret", AWS_PROFILE: "dev" };
    expect(skipped(await envSource(env, { respectProfile: true }).resolve())).toMatch(/AWS_PROFILE is set/);
    expect(await envSource(env).resolve()).toHaveProperty("credentials");
    expect(skipped(await envSource({ AWS_ACCESS_KEY_ID: "AKID" }).resolve())).toMatch(/not both set/);
  });

  it("refuses an expiration that is not a date", async () => {
    expect(failed(await envSource({ AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b", AWS_CREDENTIAL_EXPIRATION: "tomorrow" }).resolve())).toMatch(/ISO 8601/);
  });
});

// ---------------------------------------------------------------------------------------------

describe("container credentials (ECS, EKS Pod Identity, App Runner)", () => {
  let endpoint: ContainerEndpoint;
  let served: TestCredentials;
  beforeAll(async () => {
    endpoint = await containerEndpoint({ path: "/v1/credentials", credentials: () => served });
  });
  afterEach(() => {
    endpoint.fault = "none";
    endpoint.token = undefined;
    endpoint.authorizations.length = 0;
  });
  afterAll(() => endpoint.close());
  const fast = { retryDelayMs: 10 };

  it("EKS Pod Identity: FULL_URI and the token file, re-read at each fetch", async () => {
    served = fakeCredentials(3600);
    const tokenFile = file("eks-pod-identity-token", "first-token\n");
    endpoint.token = "first-token";
    const source = containerSource(io({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.origin}/v1/credentials`, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile }), fast);
    expectCredentials(await source.resolve(), { accessKeyId: served.accessKeyId, secretAccessKey: served.secretAccessKey, sessionToken: served.sessionToken, expiration: served.expiration });
    writeFileSync(tokenFile, "rotated-token");
    endpoint.token = "rotated-token";
    expectCredentials(await source.resolve(), { accessKeyId: served.accessKeyId });
    expect(endpoint.authorizations).toEqual(["first-token", "rotated-token"]);
  });

  it("ECS: RELATIVE_URI goes to 169.254.170.2 and wins over FULL_URI; the token from AWS_CONTAINER_AUTHORIZATION_TOKEN", async () => {
    served = fakeCredentials();
    const requested: string[] = [];
    // A network where 169.254.170.2 is the stand-in, as in a task.
    const viaLinkLocal: typeof fetch = (input, init) => {
      const url = String(input);
      requested.push(url);
      return fetch(url.replace("http://169.254.170.2", endpoint.origin), init);
    };
    endpoint.token = "Basic ecs-token";
    const source = containerSource(
      { ...io({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v1/credentials", AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:1/never", AWS_CONTAINER_AUTHORIZATION_TOKEN: "Basic ecs-token" }), fetch: viaLinkLocal },
      fast,
    );
    expectCredentials(await source.resolve(), { accessKeyId: served.accessKeyId });
    expect(requested).toEqual(["http://169.254.170.2/v1/credentials"]);
  });

  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "http://example.com/creds",
    "http://10.0.0.1/creds",
    "http://[fd00:ec2::254]/creds",
    "ftp://127.0.0.1/creds",
  ])("refuses FULL_URI %s without sending anything", async (url) => {
    const before = endpoint.hits.size;
    const reason = failed(await containerSource(io({ AWS_CONTAINER_CREDENTIALS_FULL_URI: url, AWS_CONTAINER_AUTHORIZATION_TOKEN: "secret-token" }), fast).resolve());
    expect(reason).toMatch(/is not allowed: it must be https, or http to 169\.254\.170\.2, 169\.254\.170\.23/);
    expect(reason).not.toContain("secret-token");
    expect(endpoint.hits.size).toBe(before);
  });

  it("allows https anywhere and http to the link-local agents and loopback", async () => {
    const { allowedContainerUrl } = await import("../../../src/credentials/container.ts");
    for (const url of ["https://creds.example.com/x", "http://169.254.170.2/v2/x", "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/v1/credentials", "http://127.0.0.1:8080/", "http://127.1.2.3/", "http://localhost:9/", "http://[::1]:9/"]) {
      expect(allowedContainerUrl(new URL(url)), url).toBe(true);
    }
    for (const url of ["http://169.254.170.3/", "http://128.0.0.1/", "http://localhost.example.com/", "http://[::2]/", "http://127.0.0.1.nip.io/"]) {
      expect(allowedContainerUrl(new URL(url)), url).toBe(false);
    }
  });

  it("gives up after the 1 s timeout, retried as the SDK", async () => {
    endpoint.fault = "slow";
    const started = Date.now();
    const reason = failed(await containerSource(io({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.origin}/v1/credentials` }), { retries: 1, retryDelayMs: 10 }).resolve());
    expect(reason).toMatch(/no answer within 1000 ms \(2 attempts\)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it.each([
    ["500", /answered HTTP 500 \(4 attempts\)/],
    ["malformed", /not valid JSON \(4 attempts\)/],
  ] as const)("reports a %s answer after the retries", async (fault, pattern) => {
    endpoint.fault = fault;
    const before = endpoint.fetches();
    expect(failed(await containerSource(io({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.origin}/v1/credentials` }), fast).resolve())).toMatch(pattern);
    expect(endpoint.fetches() - before).toBe(4);
  });

  it("passes already-expired credentials on (the chain refuses them)", async () => {
    endpoint.fault = "expired";
    const result = await containerSource(io({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.origin}/v1/credentials` }), fast).resolve();
    expect((result as { credentials: TestCredentials }).credentials.expiration.getTime()).toBeLessThan(Date.now());
  });

  it("reports a refused token with the endpoint's code", async () => {
    endpoint.token = "right";
    const reason = failed(await containerSource(io({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.origin}/v1/credentials`, AWS_CONTAINER_AUTHORIZATION_TOKEN: "wrong" }), { retries: 0 }).resolve());
    expect(reason).toBe(`${endpoint.origin}/v1/credentials answered HTTP 401 AccessDeniedException`);
  });

  it("reports a missing, unreadable or empty token file without calling the endpoint", async () => {
    const before = endpoint.fetches();
    const full = `${endpoint.origin}/v1/credentials`;
    const missing = failed(await containerSource(io({ AWS_CONTAINER_CREDENTIALS_FULL_URI: full, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(dir, "missing") }), fast).resolve());
    expect(missing).toMatch(/cannot read the authorization token file .*missing \(ENOENT\)/);
    const aDirectory = join(dir, "token-dir");
    mkdirSync(aDirectory, { recursive: true });
    const unreadable = failed(await containerSource(io({ AWS_CONTAINER_CREDENTIALS_FULL_URI: full, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: aDirectory }), fast).resolve());
    expect(unreadable).toMatch(/cannot read the authorization token file .*token-dir \(EISDIR\)/);
    const empty = failed(await containerSource(io({ AWS_CONTAINER_CREDENTIALS_FULL_URI: full, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: file("empty-token", "\n") }), fast).resolve());
    expect(empty).toMatch(/is empty/);
    expect(failed(await containerSource(io({ AWS_CONTAINER_CREDENTIALS_FULL_URI: full, AWS_CONTAINER_AUTHORIZATION_TOKEN: "a\r\nInjected: yes" }), fast).resolve())).toMatch(/line break/);
    expect(endpoint.fetches()).toBe(before);
  });

  it("steps aside when not configured, and where the runtime has no metadata endpoints", async () => {
    expect(skipped(await containerSource(io({})).resolve())).toMatch(/not set/);
    expect(failed(await containerSource({ ...io({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.origin}/v1/credentials` }), metadataEndpoints: false }).resolve())).toMatch(/cannot reach/);
  });
});

// ---------------------------------------------------------------------------------------------

describe("EC2 instance metadata (IMDSv2)", () => {
  let endpoint: ImdsEndpoint;
  let served: TestCredentials;
  beforeAll(async () => {
    endpoint = await imdsEndpoint({ credentials: () => served });
  });
  afterEach(() => {
    endpoint.fault = "none";
  });
  afterAll(() => endpoint.close());
  const env = () => ({ AWS_EC2_METADATA_SERVICE_ENDPOINT: endpoint.origin });

  it("takes a session token, the role name, then the role's credentials", async () => {
    served = fakeCredentials(6 * 3600);
    const before = new Map(endpoint.hits);
    expectCredentials(await imdsSource(io(env())).resolve(), { accessKeyId: served.accessKeyId, secretAccessKey: served.secretAccessKey, sessionToken: served.sessionToken, expiration: served.expiration });
    const delta = (key: string) => (endpoint.hits.get(key) ?? 0) - (before.get(key) ?? 0);
    expect(delta("PUT /latest/api/token")).toBe(1);
    expect(delta("GET /latest/meta-data/iam/security-credentials/")).toBe(1);
    expect(delta(`GET /latest/meta-data/iam/security-credentials/${endpoint.role}`)).toBe(1);
    expect(endpoint.unauthorized()).toBe(0);
  });

  it("the stand-in refuses requests without a session token (401), as IMDSv2 does", async () => {
    const response = await fetch(`${endpoint.origin}/latest/meta-data/iam/security-credentials/`);
    expect(response.status).toBe(401);
    const noTtl = await fetch(`${endpoint.origin}/latest/api/token`, { method: "PUT" });
    expect(noTtl.status).toBe(400);
  });

  it("works over IPv6", async () => {
    const v6 = await imdsEndpoint({ credentials: () => served, host: "::1" }).catch(() => undefined);
    if (!v6) return; // no IPv6 loopback on this machine
    try {
      expect(v6.origin).toMatch(/^http:\/\/\[::1\]:\d+$/);
      expectCredentials(await imdsSource(io({ AWS_EC2_METADATA_SERVICE_ENDPOINT: v6.origin })).resolve(), { accessKeyId: served.accessKeyId });
    } finally {
      await v6.close();
    }
  });

  it("chooses the endpoint as the SDK: IPv4 by default, IPv6 by mode, or the configured one", () => {
    expect(String(imdsUrl({}))).toBe("http://169.254.169.254/");
    expect(String(imdsUrl({ AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv6" }))).toBe("http://[fd00:ec2::254]/");
    expect(String(imdsUrl({ AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://[fd00:ec2::254]:80/", AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv4" }))).toBe("http://[fd00:ec2::254]/");
    expect(imdsUrl({ AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv5" })).toMatch(/IPv4 or IPv6/);
  });

  it("is off with AWS_EC2_METADATA_DISABLED (any value but false)", async () => {
    const before = endpoint.hits.get("PUT /latest/api/token");
    expect(skipped(await imdsSource(io({ ...env(), AWS_EC2_METADATA_DISABLED: "true" })).resolve())).toMatch(/disabled/);
    expect(skipped(await imdsSource(io({ ...env(), AWS_EC2_METADATA_DISABLED: "1" })).resolve())).toMatch(/disabled/);
    expect(endpoint.hits.get("PUT /latest/api/token")).toBe(before);
    expect(await imdsSource(io({ ...env(), AWS_EC2_METADATA_DISABLED: "false" })).resolve()).toHaveProperty("credentials");
  });

  it.each([
    ["slow", /token: no answer within 1000 ms/],
    ["500", /answered HTTP 500/],
    ["malformed", /not valid JSON/],
  ] as const)("reports a %s metadata service", async (fault, pattern) => {
    endpoint.fault = fault;
    expect(failed(await imdsSource(io(env())).resolve())).toMatch(pattern);
  });

  it("reports an instance without an instance profile (404) and an unreachable service", async () => {
    endpoint.role = "";
    try {
      expect(failed(await imdsSource(io(env())).resolve())).toMatch(/this instance has no IAM instance profile \(HTTP 404\)/);
    } finally {
      endpoint.role = "signpost-instance-role";
    }
    const closed = await imdsEndpoint({ credentials: () => served });
    await closed.close();
    expect(failed(await imdsSource(io({ AWS_EC2_METADATA_SERVICE_ENDPOINT: closed.origin })).resolve())).toBe(`${closed.origin}: token: connection refused (ECONNREFUSED)`);
  });
});

// ---------------------------------------------------------------------------------------------

describe("web identity (IRSA)", () => {
  let sts: StsEndpoint;
  let served: TestCredentials;
  beforeAll(async () => {
    sts = await stsEndpoint({ credentials: () => served });
  });
  afterEach(() => {
    sts.fault = "none";
    sts.acceptedTokens.clear();
  });
  afterAll(() => sts.close());

  it("exchanges the token file's token with AssumeRoleWithWebIdentity, unsigned, re-reading the file each time", async () => {
    served = fakeCredentials();
    const tokenFile = file("irsa-token", "eyJ.first.token\n");
    const source = webIdentitySource(io({ AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/signpost", AWS_ROLE_SESSION_NAME: "signpost-pod", AWS_ENDPOINT_URL_STS: sts.origin }));
    expectCredentials(await source.resolve(), { accessKeyId: served.accessKeyId, secretAccessKey: served.secretAccessKey, sessionToken: served.sessionToken, expiration: served.expiration });
    writeFileSync(tokenFile, "eyJ.second.token");
    await source.resolve();
    const calls = sts.calls.slice(-2);
    expect(calls.map((c) => c.params.WebIdentityToken)).toEqual(["eyJ.first.token", "eyJ.second.token"]);
    expect(calls[0]!.params).toMatchObject({ Action: "AssumeRoleWithWebIdentity", Version: "2011-06-15", RoleArn: "arn:aws:iam::111122223333:role/signpost", RoleSessionName: "signpost-pod" });
    expect(calls[0]!.headers.authorization).toBeUndefined();
    expect(calls[0]!.headers["content-type"]).toBe("application/x-www-form-urlencoded; charset=utf-8");
  });

  it("reports STS's refusal, retries 500s, and refuses malformed XML", async () => {
    const env = { AWS_WEB_IDENTITY_TOKEN_FILE: file("irsa-token-2", "token"), AWS_ROLE_ARN: "arn:aws:iam::1:role/r", AWS_ENDPOINT_URL_STS: sts.origin };
    sts.acceptedTokens.add("another token");
    const refused = failed(await webIdentitySource(io(env)).resolve());
    expect(refused).toBe(`STS AssumeRoleWithWebIdentity at ${sts.origin}: HTTP 400 InvalidIdentityToken: The web identity token that was passed could not be validated by AWS.`);
    expect(refused).not.toContain("token\"");
    sts.acceptedTokens.clear();
    sts.fault = "500";
    const before = sts.fetches();
    expect(failed(await webIdentitySource(io(env)).resolve())).toMatch(/HTTP 500$/);
    expect(sts.fetches() - before).toBe(3);
    sts.fault = "malformed";
    expect(failed(await webIdentitySource(io(env)).resolve())).toMatch(/no AssumeRoleWithWebIdentityResult\/Credentials/);
  });

  it("reports a missing or unreadable token file", async () => {
    const base = { AWS_ROLE_ARN: "arn:aws:iam::1:role/r", AWS_ENDPOINT_URL_STS: sts.origin };
    expect(failed(await webIdentitySource(io({ ...base, AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, "nope") })).resolve())).toMatch(/cannot read the token file .*nope \(ENOENT\)/);
    expect(failed(await webIdentitySource(io({ ...base, AWS_WEB_IDENTITY_TOKEN_FILE: dir })).resolve())).toMatch(/\(EISDIR\)/);
    expect(skipped(await webIdentitySource(io({ AWS_ROLE_ARN: "arn:aws:iam::1:role/r" })).resolve())).toMatch(/not both set/);
  });

  it("takes a token from the runtime where there is no file system", async () => {
    served = fakeCredentials();
    const source = webIdentitySource({ env: { AWS_ROLE_ARN: "arn:aws:iam::1:role/r", AWS_ENDPOINT_URL_STS: sts.origin } }, { token: async () => "from-a-binding" });
    expectCredentials(await source.resolve(), { accessKeyId: served.accessKeyId });
    expect(sts.calls.at(-1)!.params.WebIdentityToken).toBe("from-a-binding");
  });

  it("calls the regional endpoint unless AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL say otherwise", () => {
    const url = (env: Record<string, string>, region?: string, host?: { host: string; useSsl: boolean }) => {
      const endpoint = stsUrl(env, region, host);
      return typeof endpoint === "string" ? endpoint : `${endpoint.url.href} ${endpoint.region}`;
    };
    expect(url({}, "eu-west-1")).toBe("https://sts.eu-west-1.amazonaws.com/ eu-west-1");
    expect(url({})).toBe("https://sts.amazonaws.com/ us-east-1");
    expect(url({}, "us-east-1", { host: "127.0.0.1:7480", useSsl: false })).toBe("http://127.0.0.1:7480/ us-east-1");
    expect(url({ AWS_ENDPOINT_URL: "http://localhost:4566" }, "eu-west-1", { host: "h", useSsl: true })).toBe("http://localhost:4566/ eu-west-1");
    expect(url({ AWS_ENDPOINT_URL: "http://a:1", AWS_ENDPOINT_URL_STS: "https://sts.internal/base" }, "eu-west-1")).toBe("https://sts.internal/base eu-west-1");
    expect(url({ AWS_ENDPOINT_URL_STS: "https://x", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" }, "eu-west-1")).toBe("https://sts.eu-west-1.amazonaws.com/ eu-west-1");
    expect(url({ AWS_ENDPOINT_URL_STS: "not a url" })).toMatch(/not a URL/);
    expect(url({ AWS_ENDPOINT_URL_STS: "http://u:p@host/" })).toMatch(/without query, fragment or user info/);
  });
});

describe("STS answers", () => {
  const ok = (inner: string) => `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>${inner}</AssumeRoleResult></AssumeRoleResponse>`;
  const creds = "<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s&amp;e&#x2F;c&#47;</SecretAccessKey><SessionToken> tok+en= </SessionToken><Expiration>2026-11-28T00:27:36.792486135Z</Expiration></Credentials>";

  it("reads the four fields, decoding entities, up to nanosecond timestamps (RGW)", () => {
    expect(parseStsCredentials(ok(creds), "AssumeRole")).toEqual({ accessKeyId: "ASIA1", secretAccessKey: "s&e/c/", sessionToken: "tok+en=", expiration: new Date("2026-11-28T00:27:36.792Z") });
  });

  it.each([
    ["no result", "<AssumeRoleResponse/>", /no AssumeRoleResult/],
    ["two credentials", ok(creds + creds), /no AssumeRoleResult\/Credentials/],
    ["a missing field", ok(creds.replace(/<SessionToken>.*<\/SessionToken>/, "")), /lacks/],
    ["markup in a field", ok(creds.replace("ASIA1", "<b>ASIA1</b>")), /lacks/],
    ["CDATA", ok(creds.replace("ASIA1", "<![CDATA[ASIA1]]>")), /lacks/],
    ["an unknown entity", ok(creds.replace("ASIA1", "&bogus;")), /lacks/],
    ["a bad date", ok(creds.replace("2026-11-28T00:27:36.792486135Z", "tomorrow")), /RFC 3339/],
    ["the wrong action", ok(creds).replace(/AssumeRole(Result|Response)/g, "AssumeRoleWithWebIdentity$1"), /no AssumeRoleResult/],
  ])("refuses %s", (_, xml, pattern) => {
    expect(parseStsCredentials(xml, "AssumeRole")).toMatch(pattern);
  });

  it("refuses an answer that declares a DTD before reading it", async () => {
    const fetchDtd: typeof fetch = async () => new Response(`<!DOCTYPE x [<!ENTITY e "x">]>${ok(creds)}`, { status: 200 });
    const endpoint = stsUrl({}, "us-east-1");
    if (typeof endpoint === "string") throw new Error(endpoint);
    expect(await callSts({ env: {}, fetch: fetchDtd }, { endpoint, action: "AssumeRole", params: {} })).toBe("STS AssumeRole at https://sts.us-east-1.amazonaws.com: the answer declares a DTD");
  });
});

// ---------------------------------------------------------------------------------------------

describe("shared config and credentials files", () => {
  let sts: StsEndpoint;
  let served: TestCredentials;
  beforeAll(async () => {
    sts = await stsEndpoint({ credentials: () => served });
  });
  afterAll(() => sts.close());

  it("parses the INI format as the SDK does", () => {
    const text = [
      "# comment",
      "[default]",
      "aws_access_key_id = AKID ; trailing comment",
      "aws_secret_access_key=se;cret#kept",
      "",
      "[profile dev]",
      "region = eu-west-1",
      "s3 =",
      "  max_concurrent_requests = 10",
      "role_arn = arn:aws:iam::1:role/r",
      "[sso-session corp]",
      "sso_region = us-east-1",
      "[__proto__]",
      "polluted = yes",
    ].join("\r\n");
    const sections = parseIni(text);
    expect(sections.default).toEqual({ aws_access_key_id: "AKID", aws_secret_access_key: "se;cret#kept" });
    expect(sections["profile dev"]).toEqual({ region: "eu-west-1", "s3.max_concurrent_requests": "10", role_arn: "arn:aws:iam::1:role/r" });
    expect(sections["sso-session corp"]).toEqual({ sso_region: "us-east-1" });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("reads static keys from the profile AWS_PROFILE names, merging config and credentials", async () => {
    const credentials = file("credentials-1", "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = d\n[dev]\naws_access_key_id = DEVKEY\n");
    const config = file("config-1", "[profile dev]\naws_secret_access_key = devsecret\naws_session_token = devtoken\n[dev]\naws_access_key_id = IGNORED\n");
    const source = (env: Record<string, string>) => sharedFilesSource(io({ AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: config, ...env }), { signer });
    expect(await source({}).resolve()).toEqual({ credentials: { accessKeyId: "DEFAULTKEY", secretAccessKey: "d" } });
    expect(await source({ AWS_PROFILE: "dev" }).resolve()).toEqual({ credentials: { accessKeyId: "DEVKEY", secretAccessKey: "devsecret", sessionToken: "devtoken" } });
    expect(skipped(await source({ AWS_PROFILE: "nope" }).resolve())).toBe(`profile nope not found in ${credentials} or ${config}`);
  });

  it("finds ~/.aws under the home directory", async () => {
    const home = join(dir, "home");
    mkdirSync(join(home, ".aws"), { recursive: true });
    writeFileSync(join(home, ".aws", "credentials"), "[default]\naws_access_key_id = HOMEKEY\naws_secret_access_key = h\n");
    expect(await sharedFilesSource(nodeIo({ HOME: home }), { signer }).resolve()).toEqual({ credentials: { accessKeyId: "HOMEKEY", secretAccessKey: "h" } });
    expect(skipped(await sharedFilesSource(nodeIo({ HOME: join(dir, "nowhere") }), { signer }).resolve())).toMatch(/profile default not found in .*nowhere\/\.aws\/credentials/);
  });

  it("runs credential_process and checks what it prints", async () => {
    const script = (name: string, body: string) => file(name, `process.stdout.write(JSON.stringify(${body}));`);
    const expiration = new Date(Date.now() + 3600_000).toISOString();
    const good = script("good.cjs", `{ Version: 1, AccessKeyId: "PROCKEY", SecretAccessKey: "procsecret", SessionToken: "proctoken", Expiration: "${expiration}" }`);
    const config = (command: string) => file("config-process", `[default]\ncredential_process = ${command}\n`);
    const run = async (command: string) => sharedFilesSource(io({ AWS_CONFIG_FILE: config(command), AWS_SHARED_CREDENTIALS_FILE: join(dir, "none") }), { signer }).resolve();
    expect(await run(`node ${good}`)).toEqual({ credentials: { accessKeyId: "PROCKEY", secretAccessKey: "procsecret", sessionToken: "proctoken", expiration: new Date(expiration) } });
    expect(failed(await run(`node ${script("v2.cjs", `{ Version: 2, AccessKeyId: "a", SecretAccessKey: "b" }`)}`))).toMatch(/did not print Version 1/);
    expect(failed(await run(`node -e "process.stdout.write('not json SECRET')"`))).toMatch(/did not print valid JSON/);
    const failing = failed(await run(`node -e "console.log('SECRET'); console.error('SECRET'); process.exit(3)"`));
    expect(failing).toBe("credential_process of profile default failed (exited with code 3)");
    expect(failed(await run(`node ${script("nokey.cjs", `{ Version: 1, SecretAccessKey: "b" }`)}`))).toMatch(/lacks AccessKeyId/);
  });

  it("assumes role_arn with source_profile keys, signing AssumeRole (checked with @smithy/signature-v4)", async () => {
    served = fakeCredentials();
    sts.secrets.set("SOURCEKEY", "source/secret+key");
    const credentials = file("credentials-role", "[base]\naws_access_key_id = SOURCEKEY\naws_secret_access_key = source/secret+key\n");
    const config = file(
      "config-role",
      "[profile app]\nrole_arn = arn:aws:iam::111122223333:role/app\nsource_profile = base\nexternal_id = ext-123\nrole_session_name = laptop\nduration_seconds = 1800\nregion = eu-west-1\n",
    );
    const result = await sharedFilesSource(io({ AWS_PROFILE: "app", AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: config, AWS_ENDPOINT_URL_STS: sts.origin }), { signer }).resolve();
    expectCredentials(result, { accessKeyId: served.accessKeyId, sessionToken: served.sessionToken });
    const call = sts.calls.at(-1)!;
    expect(call.params).toEqual({ Action: "AssumeRole", Version: "2011-06-15", RoleArn: "arn:aws:iam::111122223333:role/app", RoleSessionName: "laptop", ExternalId: "ext-123", DurationSeconds: "1800" });
    expect(call.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=SOURCEKEY\/\d{8}\/eu-west-1\/sts\/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=/);
  });

  it("assumes a role from credential_source = Environment, and refuses cycles, MFA and SSO", async () => {
    served = fakeCredentials();
    sts.secrets.set("ENVKEY", "envsecret");
    const config = file(
      "config-sources",
      [
        "[profile env-role]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Environment",
        "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b",
        "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a",
        "[profile mfa]\nrole_arn = arn:aws:iam::1:role/m\nsource_profile = keys\nmfa_serial = arn:aws:iam::1:mfa/me",
        "[profile keys]\naws_access_key_id = K\naws_secret_access_key = S",
        "[profile sso]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r",
        "[profile odd]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Somewhere",
      ].join("\n"),
    );
    const source = (profile: string, env: Record<string, string> = {}) =>
      sharedFilesSource(io({ AWS_PROFILE: profile, AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: join(dir, "none"), AWS_ENDPOINT_URL_STS: sts.origin, ...env }), { signer }).resolve();
    expectCredentials(await source("env-role", { AWS_ACCESS_KEY_ID: "ENVKEY", AWS_SECRET_ACCESS_KEY: "envsecret" }), { accessKeyId: served.accessKeyId });
    expect(failed(await source("env-role"))).toMatch(/credential_source Environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set/);
    expect(failed(await source("a"))).toMatch(/source_profile cycle/);
    expect(failed(await source("mfa"))).toMatch(/mfa_serial/);
    expect(failed(await source("sso"))).toMatch(/SSO.*credential_process = aws configure export-credentials --profile sso/);
    expect(failed(await source("odd"))).toMatch(/not one of Environment, Ec2InstanceMetadata, EcsContainer/);
  });

  it("reports STS refusing the source keys", async () => {
    sts.secrets.set("BADKEY", "the-right-secret");
    const credentials = file("credentials-bad", "[base]\naws_access_key_id = BADKEY\naws_secret_access_key = a-wrong-secret\n[profile-less]\n");
    const config = file("config-bad", "[profile app]\nrole_arn = arn:aws:iam::1:role/app\nsource_profile = base\n");
    const reason = failed(await sharedFilesSource(io({ AWS_PROFILE: "app", AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: config, AWS_ENDPOINT_URL_STS: sts.origin }), { signer }).resolve());
    expect(reason).toBe(`profile app: STS AssumeRole at ${sts.origin}: HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided.`);
    expect(reason).not.toContain("a-wrong-secret");
  });

  it("steps aside where there is no file system, and names unreadable files", async () => {
    expect(skipped(await sharedFilesSource({ env: {} }, { signer }).resolve())).toMatch(/no file system/);
    const result = await sharedFilesSource(io({ AWS_SHARED_CREDENTIALS_FILE: dir, AWS_CONFIG_FILE: join(dir, "none") }), { signer }).resolve();
    expect(skipped(result)).toMatch(/cannot read .*\(EISDIR\)/);
  });
});
