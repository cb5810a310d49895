// Temporary credentials on Deno and Workers, end to end on RGW (credentials.test.ts does Node):
// - Deno, started with `deno task start` and its permissions: ~/.aws (granted), role-arn through RGW's STS,
//   credential_process (denied, then with --allow-run=sh added), the container endpoint stand-in handing out real
//   RGW STS credentials, and a token file the permissions deny (503 naming the flag, the server stays up).
// - The Worker bundle in workerd (Miniflare): role-arn with the account's keys through RGW's STS on 127.0.0.1, and
//   web identity from a bound token (AWS_WEB_IDENTITY_TOKEN) against RGW's AssumeRoleWithWebIdentity.
// RGW judges every URL. Needs the RGW the setup starts (STS, role S3Access); skipped otherwise.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { containerEndpoint, type ContainerEndpoint, type TestCredentials } from "../aws-endpoints.ts";
import { TEST_ENCRYPTION_KEY } from "../sealer.ts";
import { startOidcIssuer, type OidcIssuer } from "./oidc-issuer.ts";
import { ROLE, rgwIam } from "./rgw-iam.ts";
import "./s3-target.ts";
import { apiClient, type Runtime, type RunningService, startService } from "./service.ts";

const s3 = inject("s3");
const TOKEN = "runtimes-admin-token-0123456789abcdef";
const run = `runtimes-${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), "signpost-e2e-runtimes-"));
const body = `object for Deno and Workers ${Math.random()}`;
const key = `${run}/object.txt`;

const { client, rgwCredentials, webIdentityRole } = rgwIam(s3);

/** No credentials from the machine running the tests; HOME is the test's own. */
const isolated = (home: string, env: Record<string, string> = {}) => ({
  SIGNPOST_ADMIN_TOKEN: TOKEN,
  SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
  HOME: home,
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_SHARED_CREDENTIALS_FILE: undefined,
  AWS_CONFIG_FILE: undefined,
  AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
  AWS_ROLE_ARN: undefined,
  AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
  AWS_ENDPOINT_URL: undefined,
  AWS_ENDPOINT_URL_STS: undefined,
  AWS_EC2_METADATA_DISABLED: "true",
  ...env,
});

const rgwAccount = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ region: s3.region, host: s3.host, "path-style": true, "use-ssl": false, ...extra });
const webIdentityTokens: string[] = [];
const withKeys = { "access-key-id": s3.accessKeyId, "secret-access-key": s3.secretAccessKey };

type Api = ReturnType<typeof apiClient> & { base: string; service: RunningService };
const services: RunningService[] = [];
async function start(runtime: Runtime, env: Record<string, string | undefined>, accounts: Record<string, Record<string, unknown>> = {}, denoPermissions?: string): Promise<Api> {
  const service = await startService(runtime, { env, dataDir: mkdtempSync(join(dir, "data-")), ...(denoPermissions ? { denoPermissions } : {}) });
  services.push(service);
  const api = Object.assign(apiClient(service.url, TOKEN), { base: service.url, service });
  for (const [id, extra] of Object.entries(accounts)) {
    const created = await api("PUT", `/AwsAccount/${id}`, rgwAccount(extra), "application/json");
    expect(created.status, created.text).toBe(201);
  }
  return api;
}

async function urlFrom(api: Api, account: string, query = "") {
  const response = await api("GET", `/aws/storage/${account}/${s3.bucket}/${key}${query}`);
  expect(response.status, response.text).toBe(200);
  const answer = response.json() as { url: string; "expires-at": string; "expiry-capped"?: true };
  return { ...answer, params: new URL(answer.url).searchParams };
}

async function expectAccepted(url: string | URL) {
  const response = await fetch(url);
  expect(response.status, await response.clone().text()).toBe(200);
  expect(await response.text()).toBe(body);
}

async function expectRefused(url: string | URL) {
  const response = await fetch(url);
  expect([400, 403], await response.clone().text()).toContain(response.status);
}

/** A URL with temporary credentials works, and is refused without its token. */
async function expectTemporaryUrlWorks(url: string) {
  expect(new URL(url).searchParams.get("X-Amz-Security-Token")).toBeTruthy();
  await expectAccepted(url);
  const removed = new URL(url);
  removed.searchParams.delete("X-Amz-Security-Token");
  await expectRefused(removed);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!s3.rgwDir)("temporary credentials on Deno and Workers, judged by RGW", () => {
  beforeAll(async () => {
    const put = await client("s3").fetch(`${s3.endpoint}/${s3.bucket}/${key}`, { method: "PUT", body });
    expect(put.status).toBe(200);
  });

  afterAll(async () => {
    for (const service of services) {
      const logs = `${service.stdout()}${service.stderr()}`;
      await service.stop();
      expect(logs).not.toContain(s3.secretAccessKey);
      expect(logs).not.toContain("X-Amz-Signature");
      for (const token of webIdentityTokens) expect(logs).not.toContain(token);
    }
  });

  describe("Deno (deno task start)", () => {
    it("reads ~/.aws (granted) and assumes role-arn through RGW's STS with those or the account's keys", async () => {
      const home = join(dir, "home-deno");
      mkdirSync(join(home, ".aws"), { recursive: true });
      writeFileSync(join(home, ".aws", "credentials"), `[default]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`);
      const api = await start("deno", isolated(home), {
        profile: {},
        "role-chain": { "role-arn": ROLE, "duration-seconds": 900 },
        "role-keys": { ...withKeys, "role-arn": ROLE },
      });
      const profile = await urlFrom(api, "profile");
      expect(profile.params.get("X-Amz-Credential")!.startsWith(`${s3.accessKeyId}/`)).toBe(true);
      await expectAccepted(profile.url);
      const chained = await urlFrom(api, "role-chain", "?expiration=86400");
      expect(chained["expiry-capped"]).toBe(true);
      expect(Number(chained.params.get("X-Amz-Expires"))).toBeLessThanOrEqual(900);
      await expectTemporaryUrlWorks(chained.url);
      await expectTemporaryUrlWorks((await urlFrom(api, "role-keys")).url);
    });

    it("credential_process: refused without --allow-run (503 naming it), works with --allow-run=sh added", async () => {
      const home = join(dir, "home-process");
      mkdirSync(join(home, ".aws"), { recursive: true });
      const credentials = await rgwCredentials(900);
      const printed = join(home, ".aws", "process-output.json");
      writeFileSync(printed, JSON.stringify({ Version: 1, AccessKeyId: credentials.accessKeyId, SecretAccessKey: credentials.secretAccessKey, SessionToken: credentials.sessionToken, Expiration: credentials.expiration.toISOString() }));
      writeFileSync(join(home, ".aws", "config"), `[default]\ncredential_process = cat "${printed}"\n`);
      const denied = await start("deno", isolated(home), { process: {} });
      const refused = await denied("GET", `/aws/storage/process/${s3.bucket}/${key}`);
      expect(refused.status).toBe(503);
      expect(refused.json().issue[0].diagnostics).toContain("shared files: credential_process of profile default failed (not permitted by Deno: credential_process needs --allow-run=sh)");
      expect((await fetch(`${denied.base}/health`)).status).toBe(200);

      const allowed = await start("deno", isolated(home), { process: {} }, "--allow-run=sh");
      const answer = await urlFrom(allowed, "process", "?expiration=86400");
      expect(answer.params.get("X-Amz-Security-Token")).toBe(credentials.sessionToken);
      expect(answer["expiry-capped"]).toBe(true);
      await expectTemporaryUrlWorks(answer.url);
    });

    describe("container endpoint handing out real RGW STS credentials", () => {
      let endpoint: ContainerEndpoint;
      let last: TestCredentials;
      beforeAll(async () => {
        endpoint = await containerEndpoint({ path: "/v1/credentials", token: "pod-identity-token", credentials: async () => (last = await rgwCredentials(900)) });
      });
      afterAll(() => endpoint.close());

      it("signs URLs RGW accepts, with the endpoint's session token", async () => {
        const api = await start("deno", isolated(join(dir, "no-home"), { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.origin}/v1/credentials`, AWS_CONTAINER_AUTHORIZATION_TOKEN: "pod-identity-token" }), { pod: {} });
        const answer = await urlFrom(api, "pod");
        expect(answer.params.get("X-Amz-Security-Token")).toBe(last.sessionToken);
        await expectTemporaryUrlWorks(answer.url);
        expect(endpoint.fetches()).toBe(1);
      });

      it("a token file outside the granted paths: 503 naming --allow-read, and the server stays up", async () => {
        const tokenFile = join(dir, "pod-identity-token");
        writeFileSync(tokenFile, "pod-identity-token");
        const api = await start("deno", isolated(join(dir, "no-home"), { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.origin}/v1/credentials`, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile }), { denied: {} });
        const before = endpoint.fetches();
        for (let i = 0; i < 2; i++) {
          const response = await api("GET", `/aws/storage/denied/${s3.bucket}/${key}`);
          expect(response.status).toBe(503);
          expect(response.json().issue[0].diagnostics).toContain(
            `container: cannot read the authorization token file ${tokenFile} (not permitted by Deno: run with --allow-read=${tokenFile} or its folder)`,
          );
        }
        expect(endpoint.fetches()).toBe(before);
        expect((await fetch(`${api.base}/health`)).status).toBe(200);
      });
    });
  });

  describe("Worker (workerd through Miniflare)", () => {
    const bindings = { SIGNPOST_ADMIN_TOKEN: TOKEN, SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };

    it("role-arn with the account's keys: AssumeRole at the account's host (RGW's STS), URLs capped and accepted; 503 for an unknown role", async () => {
      const api = await start("worker", bindings, {
        "role-keys": { ...withKeys, "role-arn": ROLE, "duration-seconds": 900 },
        "role-missing": { ...withKeys, "role-arn": "arn:aws:iam:::role/NoSuchRole" },
        "no-keys": {},
      });
      const answer = await urlFrom(api, "role-keys", "?expiration=86400");
      expect(answer.params.get("X-Amz-Credential")!.startsWith(`${s3.accessKeyId}/`)).toBe(false);
      expect(answer["expiry-capped"]).toBe(true);
      expect(Number(answer.params.get("X-Amz-Expires"))).toBeLessThanOrEqual(900);
      await expectTemporaryUrlWorks(answer.url);
      const again = await urlFrom(api, "role-keys");
      expect(again.params.get("X-Amz-Security-Token")).toBe(answer.params.get("X-Amz-Security-Token")); // cached

      const missing = await api("GET", `/aws/storage/role-missing/${s3.bucket}/${key}`);
      expect(missing.status).toBe(503);
      expect(missing.json().issue[0].diagnostics).toMatch(/^cannot assume role arn:aws:iam:::role\/NoSuchRole for AwsAccount\/role-missing: STS AssumeRole at http:\/\/127\.0\.0\.1:\d+: HTTP 404 NoSuchEntity/);

      // No default credentials bound: the 503 names the sources a Worker has.
      const none = await api("GET", `/aws/storage/no-keys/${s3.bucket}/${key}`);
      expect(none.status).toBe(503);
      expect(none.json().issue[0].diagnostics).toBe(
        "no AWS credentials available for an account without access-key-id: environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set; web identity: the binding AWS_WEB_IDENTITY_TOKEN and AWS_ROLE_ARN are not both set",
      );
    });

    describe("web identity from a bound token", () => {
      let issuer: OidcIssuer;
      let roleArn: string;
      const clientId = "signpost-worker-e2e";
      beforeAll(async () => {
        // A role on RGW trusting a local OIDC issuer; the Worker gets the issuer's token as a binding.
        issuer = await startOidcIssuer();
        roleArn = await webIdentityRole(issuer, clientId, "SignpostWorker");
      });
      afterAll(() => issuer.close());

      it("AWS_WEB_IDENTITY_TOKEN + AWS_ROLE_ARN: AssumeRoleWithWebIdentity at RGW's STS, URLs RGW accepts", async () => {
        const api = await start(
          "worker",
          {
            ...bindings,
            AWS_WEB_IDENTITY_TOKEN: webIdentityTokens[webIdentityTokens.push(issuer.token({ sub: "system:serviceaccount:default:signpost", aud: clientId })) - 1],
            AWS_ROLE_ARN: roleArn,
            AWS_ROLE_SESSION_NAME: "signpost-worker",
            AWS_ENDPOINT_URL_STS: s3.endpoint,
          },
          { "web-identity": {} },
        );
        const answer = await urlFrom(api, "web-identity");
        await expectTemporaryUrlWorks(answer.url);
        expect((await urlFrom(api, "web-identity")).params.get("X-Amz-Security-Token")).toBe(answer.params.get("X-Amz-Security-Token")); // cached
      });
    });
  });
});
