// Through the HTTP contract (createApp, in process): the role fields of AwsAccount, STS AssumeRole per account
// (against the STS stand-in, which checks our signature with @smithy/signature-v4), and the URL lifetime cap.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type LogEntry } from "../../../src/app.ts";
import { defaultChain } from "../../../src/credentials/chain.ts";
import { fromEnv } from "../../../src/credentials/env.ts";
import type { CredentialProvider } from "../../../src/credentials/provider.ts";
import { createRoleCredentials } from "../../../src/domain/roles.ts";
import { nodeIo } from "../../../src/runtime/node-io.ts";
import { nodeSha256 } from "../../../src/runtime/node-crypto.ts";
import { createPresigner } from "../../../src/aws/signer.ts";
import { memoryStore } from "../../../src/store/memory.ts";
import { containerEndpoint, fakeCredentials, stsEndpoint, type ContainerEndpoint, type StsEndpoint, type TestCredentials } from "../../aws-endpoints.ts";
import { signedBy } from "../../verify-url.ts";
import { ADMIN_TOKEN as TOKEN, createTestApp, NOW } from "../../app.ts";

const signer = createPresigner(nodeSha256);

function setup(options: { credentials?: CredentialProvider; env?: Record<string, string>; now?: () => number; roles?: boolean } = {}) {
  const logs: LogEntry[] = [];
  const now = options.now ?? (() => NOW);
  const io = { ...nodeIo(options.env ?? {}), now };
  const { app } = createTestApp({
    credentials: options.credentials ?? fromEnv(options.env ?? {}),
    ...(options.roles === false ? {} : { roles: createRoleCredentials(io, { signer, log: (entry) => logs.push(entry) }) }),
    presigner: signer,
    now,
    log: (entry) => logs.push(entry),
  });
  const call = (method: string, path: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  return { app, call, logs };
}

async function outcome(response: Response, status: number, pattern: RegExp) {
  expect(response.status).toBe(status);
  const body = await response.json();
  expect(body.resourceType).toBe("OperationOutcome");
  expect(body.issue[0].diagnostics).toMatch(pattern);
  return body.issue[0].diagnostics as string;
}

const keys = { region: "us-east-1", "access-key-id": "AKIAIOSFODNN7EXAMPLE", "secret-access-key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };

describe("AwsAccount role fields", () => {
  it("stores and shows role-arn, external-id, role-session-name and duration-seconds", async () => {
    const { call } = setup();
    const role = { "role-arn": "arn:aws:iam::123456789012:role/path/to/signpost", "external-id": "ext:id/1+=,.@-", "role-session-name": "signpost@prod", "duration-seconds": 43200 };
    const response = await call("PUT", "/AwsAccount/a", { ...keys, ...role });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject(role);
    expect(await (await call("GET", "/AwsAccount/a")).json()).toMatchObject(role);
    for (const arn of ["arn:aws:iam:::role/S3Access", "arn:aws-cn:iam::123456789012:role/r", "arn:aws:iam::tenant1:role/r"]) {
      expect((await call("PUT", "/AwsAccount/b", { region: "us-east-1", "role-arn": arn })).status).toBeLessThan(300);
    }
  });

  it.each([
    ["a non-ARN role", { "role-arn": "S3Access" }, /role-arn must be an IAM role ARN/],
    ["a user ARN", { "role-arn": "arn:aws:iam::123456789012:user/me" }, /role-arn must be an IAM role ARN/],
    ["an ARN ending in /", { "role-arn": "arn:aws:iam::123456789012:role/path/" }, /role-arn must be an IAM role ARN/],
    ["a role ARN of 2049 characters", { "role-arn": `arn:aws:iam::1:role/${"r".repeat(2029)}` }, /role-arn must be an IAM role ARN/],
    ["a number as role-arn", { "role-arn": 42 }, /role-arn must be a string/],
    ["a one-character external id", { "role-arn": "arn:aws:iam::1:role/r", "external-id": "x" }, /external-id must be 2 to 1224 characters/],
    ["a space in the external id", { "role-arn": "arn:aws:iam::1:role/r", "external-id": "a b" }, /external-id must be 2 to 1224/],
    ["a 65-character session name", { "role-arn": "arn:aws:iam::1:role/r", "role-session-name": "s".repeat(65) }, /role-session-name must be 2 to 64/],
    ["a ':' in the session name", { "role-arn": "arn:aws:iam::1:role/r", "role-session-name": "a:b" }, /role-session-name must be 2 to 64/],
    ["899 seconds", { "role-arn": "arn:aws:iam::1:role/r", "duration-seconds": 899 }, /duration-seconds must be a whole number from 900 to 43200/],
    ["43201 seconds", { "role-arn": "arn:aws:iam::1:role/r", "duration-seconds": 43201 }, /from 900 to 43200/],
    ["a fraction of seconds", { "role-arn": "arn:aws:iam::1:role/r", "duration-seconds": 900.5 }, /from 900 to 43200/],
    ["seconds as a string", { "role-arn": "arn:aws:iam::1:role/r", "duration-seconds": "3600" }, /from 900 to 43200/],
    ["external-id without role-arn", { "external-id": "abc" }, /external-id applies only with role-arn/],
    ["duration-seconds without role-arn", { "duration-seconds": 3600 }, /duration-seconds applies only with role-arn/],
  ])("refuses %s with 400", async (_, extra, pattern) => {
    const { call } = setup();
    await outcome(await call("PUT", "/AwsAccount/a", { ...keys, ...extra }), 400, pattern);
  });

  it("checks a 64 KiB role-arn quickly (no regex blow-up)", async () => {
    const { call } = setup();
    const started = Date.now();
    await outcome(await call("PUT", "/AwsAccount/a", { region: "us-east-1", "role-arn": `arn:aws:iam::1:role/${"a/".repeat(30_000)}!` }), 400, /role-arn/);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe("URL lifetime vs temporary credentials", () => {
  const temporary = (secondsLeft: number) => ({
    AWS_ACCESS_KEY_ID: "ASIATEMP",
    AWS_SECRET_ACCESS_KEY: "temp-secret",
    AWS_SESSION_TOKEN: "temp-token",
    AWS_CREDENTIAL_EXPIRATION: new Date(NOW + secondsLeft * 1000).toISOString(),
  });

  it("caps X-Amz-Expires at the credentials' expiry and says so (10 min left, 86400 asked)", async () => {
    const { call } = setup({ env: temporary(600) });
    await call("PUT", "/AwsAccount/d", { region: "eu-central-1" });
    const answers = [[await call("GET", "/aws/storage/d/bucket/k?expiration=86400"), ["url"]], [await call("POST", "/aws/storage/d/bucket", { filename: "k" }), ["url", "headers"]]] as const;
    for (const [response, fields] of answers) {
      expect(response.status).toBe(200);
      expect(response.headers.get("signpost-expiry-capped")).toBe("true");
      const body = await response.json();
      expect(Object.keys(body)).toEqual([...fields, "expires-at", "expiry-capped"]);
      expect(body["expiry-capped"]).toBe(true);
      expect(new URL(body.url).searchParams.get("X-Amz-Expires")).toBe("600");
      expect(body["expires-at"]).toBe(new Date(NOW + 600_000).toISOString().replace(".000Z", "Z"));
    }
  });

  it("does not cap, nor mark, a lifetime the credentials outlive", async () => {
    const { call } = setup({ env: temporary(7200) });
    await call("PUT", "/AwsAccount/d", { region: "eu-central-1" });
    const response = await call("GET", "/aws/storage/d/bucket/k?expiration=3600");
    expect(response.headers.get("signpost-expiry-capped")).toBeNull();
    const body = await response.json();
    expect(body).toEqual({ url: expect.any(String), "expires-at": "2026-01-02T04:04:05Z" });
    expect(new URL(body.url).searchParams.get("X-Amz-Expires")).toBe("3600");
  });

  it("answers expires-at for long-term keys too, counted from the signing second", async () => {
    const { call } = setup({ now: () => NOW + 999 });
    await call("PUT", "/AwsAccount/k", keys);
    const body = await (await call("GET", "/aws/storage/k/bucket/k")).json();
    expect(new URL(body.url).searchParams.get("X-Amz-Date")).toBe("20260102T030405Z");
    expect(body["expires-at"]).toBe("2026-01-03T03:04:05Z");
  });

  it("refuses with 503 rather than sign with expired credentials", async () => {
    const { call } = setup({ env: temporary(0) });
    await call("PUT", "/AwsAccount/d", { region: "eu-central-1" });
    await outcome(await call("GET", "/aws/storage/d/bucket/k"), 503, /credentials expired at 2026-01-02T03:04:05.000Z/);
  });
});

describe("role-arn: STS AssumeRole per account", () => {
  let sts: StsEndpoint;
  let served: TestCredentials;
  const issued: TestCredentials[] = [];
  beforeAll(async () => {
    sts = await stsEndpoint({
      credentials: () => {
        served = fakeCredentials(3600);
        issued.push(served);
        return served;
      },
    });
    sts.secrets.set(keys["access-key-id"], keys["secret-access-key"]);
  });
  afterAll(() => sts.close());
  const realTime = () => setup({ env: { AWS_ENDPOINT_URL_STS: sts.origin }, now: Date.now });

  it("assumes the role with the account's keys and signs with the temporary credentials", async () => {
    const { call } = realTime();
    await call("PUT", "/AwsAccount/role", { ...keys, "role-arn": "arn:aws:iam::123456789012:role/signpost", "external-id": "ext-1", "duration-seconds": 900 });
    const before = sts.fetches();
    const response = await call("GET", "/aws/storage/role/bucket/dir/k.txt?expiration=600");
    expect(response.status).toBe(200);
    const { url } = await response.json();
    expect(sts.calls.at(-1)!.params).toEqual({
      Action: "AssumeRole",
      Version: "2011-06-15",
      RoleArn: "arn:aws:iam::123456789012:role/signpost",
      RoleSessionName: "signpost-role",
      ExternalId: "ext-1",
      DurationSeconds: "900",
    });
    expect(sts.calls.at(-1)!.headers.authorization).toMatch(/Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/us-east-1\/sts\/aws4_request/);
    expect(new URL(url).searchParams.get("X-Amz-Security-Token")).toBe(served.sessionToken);
    expect(await signedBy(url, "GET", served)).toBe(true);
    // Cached: more URLs, no more STS calls.
    for (let i = 0; i < 5; i++) expect((await call("GET", "/aws/storage/role/bucket/k")).status).toBe(200);
    expect(sts.fetches() - before).toBe(1);
  });

  it("assumes the role with the default credentials when the account has no keys", async () => {
    const { call } = setup({
      env: { AWS_ENDPOINT_URL_STS: sts.origin },
      credentials: fromEnv({ AWS_ACCESS_KEY_ID: keys["access-key-id"], AWS_SECRET_ACCESS_KEY: keys["secret-access-key"] }),
      now: Date.now,
    });
    await call("PUT", "/AwsAccount/chain-role", { region: "eu-west-1", "role-arn": "arn:aws:iam::1:role/r", "role-session-name": "custom" });
    const { url } = await (await call("GET", "/aws/storage/chain-role/bucket/k")).json();
    expect(sts.calls.at(-1)!.params).toMatchObject({ RoleSessionName: "custom", DurationSeconds: "3600" });
    expect(sts.calls.at(-1)!.headers.authorization).toMatch(/\/eu-west-1\/sts\/aws4_request/);
    expect(await signedBy(url, "GET", served)).toBe(true);
  });

  it("assumes again when the account changes, never reusing the old role's credentials", async () => {
    const { call } = realTime();
    await call("PUT", "/AwsAccount/r", { ...keys, "role-arn": "arn:aws:iam::1:role/first" });
    const first = new URL((await (await call("GET", "/aws/storage/r/bucket/k")).json()).url);
    await call("PUT", "/AwsAccount/r", { ...keys, "role-arn": "arn:aws:iam::1:role/second" });
    const second = new URL((await (await call("GET", "/aws/storage/r/bucket/k")).json()).url);
    expect(sts.calls.at(-1)!.params.RoleArn).toBe("arn:aws:iam::1:role/second");
    expect(second.searchParams.get("X-Amz-Credential")).not.toBe(first.searchParams.get("X-Amz-Credential"));
  });

  it("sends STS calls to the account's host when no endpoint is configured", async () => {
    const { call } = setup({ now: Date.now });
    await call("PUT", "/AwsAccount/host", { ...keys, host: sts.origin.slice("http://".length), "use-ssl": false, "path-style": true, "role-arn": "arn:aws:iam:::role/S3Access" });
    const before = sts.fetches();
    expect((await call("GET", "/aws/storage/host/bucket/k")).status).toBe(200);
    expect(sts.fetches() - before).toBe(1);
  });

  it("answers 503 naming the role and STS's refusal, never the secret, and recovers", async () => {
    const { call } = realTime();
    await call("PUT", "/AwsAccount/bad", { ...keys, "secret-access-key": "a-wrong-secret", "role-arn": "arn:aws:iam::1:role/r" });
    const message = await outcome(await call("GET", "/aws/storage/bad/bucket/k"), 503, /^cannot assume role arn:aws:iam::1:role\/r for AwsAccount\/bad: STS AssumeRole at http:\/\/127\.0\.0\.1:\d+: HTTP 403 SignatureDoesNotMatch/);
    expect(message).not.toContain("a-wrong-secret");
    sts.fault = "malformed";
    await call("PUT", "/AwsAccount/bad", { ...keys, "role-arn": "arn:aws:iam::1:role/r" });
    await outcome(await call("GET", "/aws/storage/bad/bucket/k"), 503, /no AssumeRoleResult\/Credentials/);
    sts.fault = "none";
    expect((await call("GET", "/aws/storage/bad/bucket/k")).status).toBe(200);
  });

  it("caps URLs at the role credentials' expiry (900 s session, a day asked)", async () => {
    const { call } = realTime();
    await call("PUT", "/AwsAccount/short", { ...keys, "role-arn": "arn:aws:iam::1:role/r", "duration-seconds": 900 });
    const response = await call("GET", "/aws/storage/short/bucket/k?expiration=86400");
    const body = await response.json();
    const expires = Number(new URL(body.url).searchParams.get("X-Amz-Expires"));
    expect(expires).toBeLessThanOrEqual(3600); // the stand-in's sessions last an hour
    expect(expires).toBeGreaterThan(3500);
    expect(body["expiry-capped"]).toBe(true);
    expect(Math.abs(new Date(body["expires-at"]).getTime() - served.expiration.getTime())).toBeLessThan(1000);
  });

  it("answers 503 for role-arn where the runtime has no role assumption", async () => {
    const { call } = setup({ roles: false });
    await call("PUT", "/AwsAccount/r", { ...keys, "role-arn": "arn:aws:iam::1:role/r" });
    await outcome(await call("GET", "/aws/storage/r/bucket/k"), 503, /no role assumption configured/);
  });
});

describe("the service stays up through credential faults", () => {
  let container: ContainerEndpoint;
  let served: TestCredentials;
  beforeAll(async () => {
    container = await containerEndpoint({ path: "/v1/credentials", credentials: () => served });
  });
  afterAll(() => container.close());

  it("answers 503 for each fault, then URLs again once the endpoint is healthy", async () => {
    served = fakeCredentials(3600);
    const io = nodeIo({ HOME: "/nonexistent", AWS_CONTAINER_CREDENTIALS_FULL_URI: `${container.origin}/v1/credentials` });
    const { call } = setup({ credentials: defaultChain(io, { signer, container: { retries: 0 } }), now: Date.now });
    await call("PUT", "/AwsAccount/d", { region: "us-east-1" });
    for (const [fault, pattern] of [
      ["slow", /no answer within 1000 ms/],
      ["500", /answered HTTP 500/],
      ["malformed", /not valid JSON/],
      ["expired", /expired at/],
    ] as const) {
      container.fault = fault;
      await outcome(await call("GET", "/aws/storage/d/bucket/k"), 503, pattern);
      expect((await call("GET", "/health")).status).toBe(200);
    }
    container.fault = "none";
    const { url } = await (await call("GET", "/aws/storage/d/bucket/k")).json();
    expect(await signedBy(url, "GET", served)).toBe(true);
  });
});
