// The default chain's order and messages, and the memo's refresh rules, against the local AWS endpoint stand-ins.
// The chain's clock runs ahead of the wall clock on demand (`advance`), so minutes pass in no time.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { defaultChain, memoize, RETRY_AFTER_FAILURE_MS } from "../../../src/credentials/chain.ts";
import type { Log } from "../../../src/credentials/provider.ts";
import { HttpError } from "../../../src/errors.ts";
import { nodeIo } from "../../../src/runtime/node-io.ts";
import { nodeSha256 } from "../../../src/runtime/node-crypto.ts";
import { createPresigner } from "../../../src/aws/signer.ts";
import { containerEndpoint, fakeCredentials, imdsEndpoint, stsEndpoint } from "../../aws-endpoints.ts";
import type { ContainerEndpoint, ImdsEndpoint, StsEndpoint, TestCredentials } from "../../aws-endpoints.ts";

const dir = mkdtempSync(join(tmpdir(), "signpost-chain-"));
const signer = createPresigner(nodeSha256);
let container: ContainerEndpoint;
let imds: ImdsEndpoint;
let sts: StsEndpoint;
let closedOrigin: string; // a port nobody listens on: fails fast
let served: TestCredentials;

beforeAll(async () => {
  container = await containerEndpoint({ path: "/v1/credentials", credentials: () => served });
  imds = await imdsEndpoint({ credentials: () => served });
  sts = await stsEndpoint({ credentials: () => served });
  const closed = await imdsEndpoint({ credentials: () => served });
  closedOrigin = closed.origin;
  await closed.close();
});
afterEach(() => {
  container.fault = imds.fault = sts.fault = "none";
  container.delayMs = 0;
});
afterAll(async () => {
  await Promise.all([container.close(), imds.close(), sts.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function setup(env: Record<string, string>) {
  let offset = 0;
  const logs: Parameters<Log>[0][] = [];
  const now = () => Date.now() + offset;
  const provider = defaultChain(nodeIo({ HOME: join(dir, "home"), AWS_EC2_METADATA_SERVICE_ENDPOINT: closedOrigin, ...env }), {
    signer,
    now,
    log: (entry) => logs.push(entry),
    container: { retryDelayMs: 10 },
  });
  return { provider, logs, advance: (ms: number) => (offset += ms) };
}

const containerEnv = () => ({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${container.origin}/v1/credentials` });
const outcome = async (promise: Promise<unknown>) => {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(HttpError);
  expect((error as HttpError).status).toBe(503);
  return (error as HttpError).message;
};

describe("order, as @aws-sdk/credential-provider-node", () => {
  const files = () => {
    const credentials = join(dir, "credentials");
    writeFileSync(credentials, "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = f\n[dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = d\n");
    return { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: join(dir, "none") };
  };
  const envKeys = { AWS_ACCESS_KEY_ID: "ENVKEY", AWS_SECRET_ACCESS_KEY: "e" };
  const webIdentity = () => ({ AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, "token"), AWS_ROLE_ARN: "arn:aws:iam::1:role/r", AWS_ENDPOINT_URL_STS: sts.origin });

  it("environment first, then shared files, web identity, container, instance metadata", async () => {
    served = fakeCredentials();
    writeFileSync(join(dir, "token"), "jwt");
    const imdsEnv = { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.origin };
    expect((await setup({ ...envKeys, ...files(), ...webIdentity(), ...containerEnv(), ...imdsEnv }).provider()).accessKeyId).toBe("ENVKEY");
    expect((await setup({ ...files(), ...webIdentity(), ...containerEnv(), ...imdsEnv }).provider()).accessKeyId).toBe("FILEKEY");
    const before = { sts: sts.fetches(), container: container.fetches(), imds: imds.fetches() };
    expect((await setup({ ...webIdentity(), ...containerEnv(), ...imdsEnv }).provider()).accessKeyId).toBe(served.accessKeyId);
    expect([sts.fetches() - before.sts, container.fetches() - before.container]).toEqual([1, 0]);
    expect((await setup({ ...containerEnv(), ...imdsEnv }).provider()).accessKeyId).toBe(served.accessKeyId);
    expect([container.fetches() - before.container, imds.fetches() - before.imds]).toEqual([1, 0]); // container set: IMDS untouched
    expect((await setup(imdsEnv).provider()).accessKeyId).toBe(served.accessKeyId);
    expect(imds.fetches() - before.imds).toBe(1);
  });

  it("skips the environment when AWS_PROFILE is set, so the profile wins", async () => {
    expect((await setup({ ...envKeys, ...files(), AWS_PROFILE: "dev" }).provider()).accessKeyId).toBe("DEVKEY");
  });

  it("answers 503 naming every source tried and why, without secrets", async () => {
    const message = await outcome(
      setup({ AWS_ACCESS_KEY_ID: "ONLY-THE-ID", AWS_SHARED_CREDENTIALS_FILE: join(dir, "none"), AWS_CONFIG_FILE: join(dir, "none"), AWS_CONTAINER_AUTHORIZATION_TOKEN: "container-secret" }).provider(),
    );
    expect(message).toBe(
      "no AWS credentials available for an account without access-key-id: " +
        "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set; " +
        `shared files: profile default not found in ${join(dir, "none")} or ${join(dir, "none")}; ` +
        "web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not both set; " +
        "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set; " +
        `EC2 instance metadata: ${closedOrigin}: token: connection refused (ECONNREFUSED)`,
    );
    expect(message).not.toContain("container-secret");
  });

  it("stops at a configured source that fails, rather than fall through to another identity", async () => {
    served = fakeCredentials();
    const before = container.fetches();
    const message = await outcome(setup({ ...webIdentity(), AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, "missing-token"), ...containerEnv() }).provider());
    expect(message).toMatch(/web identity: cannot read the token file .*missing-token \(ENOENT\)$/);
    expect(container.fetches()).toBe(before);
    const forbidden = await outcome(setup({ AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://192.0.2.1/creds", AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.origin }).provider());
    expect(forbidden).toMatch(/container: AWS_CONTAINER_CREDENTIALS_FULL_URI host 192\.0\.2\.1 is not allowed/);
    expect(forbidden).not.toMatch(/EC2 instance metadata/);
  });

  it("refuses already-expired credentials, naming the source", async () => {
    container.fault = "expired";
    expect(await outcome(setup(containerEnv()).provider())).toMatch(/container: the credentials it gave expired at \d{4}-/);
  });
});

describe("memoisation and refresh", () => {
  it("fetches once for many callers, concurrent or not", async () => {
    served = fakeCredentials(3600);
    container.delayMs = 100;
    const { provider } = setup(containerEnv());
    const before = container.fetches();
    const results = await Promise.all(Array.from({ length: 200 }, () => provider()));
    for (let i = 0; i < 20; i++) results.push(await provider());
    expect(new Set(results.map((c) => c.accessKeyId))).toEqual(new Set([served.accessKeyId]));
    expect(container.fetches() - before).toBe(1);
  });

  it("refreshes when less than 5 minutes remain, once for all concurrent callers", async () => {
    served = fakeCredentials(15 * 60);
    const { provider, advance, logs } = setup(containerEnv());
    const first = await provider();
    const before = container.fetches();
    advance(9 * 60_000); // 6 minutes left
    expect((await provider()).accessKeyId).toBe(first.accessKeyId);
    expect(container.fetches()).toBe(before);
    advance(2 * 60_000); // 4 minutes left
    served = fakeCredentials(3600);
    container.delayMs = 100;
    const refreshed = await Promise.all(Array.from({ length: 300 }, () => provider()));
    expect(container.fetches() - before).toBe(1);
    expect(new Set(refreshed.map((c) => c.accessKeyId))).toEqual(new Set([served.accessKeyId]));
    expect(logs.filter((l) => l.message === "AWS credentials obtained").map((l) => l.source)).toEqual(["container", "container"]);
  });

  it("keeps still-valid credentials when a refresh fails, logs it, retries after 30 s, and never uses them past expiry", async () => {
    served = fakeCredentials(10 * 60);
    const { provider, advance, logs } = setup(containerEnv());
    const first = await provider();
    advance(6 * 60_000); // 4 minutes left: refresh due
    container.fault = "500";
    const before = container.fetches();
    expect((await provider()).accessKeyId).toBe(first.accessKeyId);
    expect(container.fetches() - before).toBe(4); // one refresh: the first attempt and 3 retries
    const warning = logs.find((l) => l.level === "warn")!;
    expect(warning).toMatchObject({ message: "credential refresh failed; using the current credentials until they expire", credentials: "default credentials", expires: first.expiration!.toISOString() });
    expect(String(warning.error)).toMatch(/container: .* answered HTTP 500/);
    expect(JSON.stringify(logs)).not.toContain(first.secretAccessKey);

    advance(RETRY_AFTER_FAILURE_MS - 1000);
    expect((await provider()).accessKeyId).toBe(first.accessKeyId);
    expect(container.fetches() - before).toBe(4); // within 30 s of the failure: no new attempt
    advance(2000);
    expect((await provider()).accessKeyId).toBe(first.accessKeyId);
    expect(container.fetches() - before).toBe(8); // retried, failed again, still valid

    advance(4 * 60_000); // past expiry
    expect(await outcome(provider())).toMatch(/container: .* answered HTTP 500/);
    container.fault = "none";
    served = fakeCredentials(3600);
    expect((await provider()).accessKeyId).toBe(served.accessKeyId); // and it recovers
  });

  it("keeps credentials without an expiry for good", async () => {
    const env: Record<string, string> = { AWS_ACCESS_KEY_ID: "FIRST", AWS_SECRET_ACCESS_KEY: "s" };
    const provider = defaultChain(nodeIo(env), { signer });
    expect((await provider()).accessKeyId).toBe("FIRST");
    env.AWS_ACCESS_KEY_ID = "SECOND";
    expect((await provider()).accessKeyId).toBe("FIRST");
  });

  it("refuses credentials that a fetch returns already expired", async () => {
    const provider = memoize(async () => ({ accessKeyId: "a", secretAccessKey: "b", expiration: new Date(Date.now() - 1) }), { what: "test credentials" });
    expect(await outcome(provider())).toMatch(/^test credentials: the credentials obtained expired at /);
  });
});
