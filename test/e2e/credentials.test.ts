// Temporary credentials, end to end on RGW: signpost (started with npm start) assumes roles through RGW's STS,
// takes credentials from container and IMDS stand-ins that hand out real RGW STS credentials, and from
// AssumeRoleWithWebIdentity with a local OIDC issuer; RGW judges every URL. Also: 1000 concurrent presign requests
// during a refresh cause one upstream fetch. Needs the RGW the setup starts (STS, role S3Access); skipped otherwise.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { defaultChain } from "../../src/credentials/chain.ts";
import { nodeIo } from "../../src/runtime/node-io.ts";
import { nodeSha256 } from "../../src/runtime/node-crypto.ts";
import { createPresigner } from "../../src/aws/signer.ts";
import { createTestApp } from "../app.ts";
import { containerEndpoint, imdsEndpoint, type ContainerEndpoint, type ImdsEndpoint, type TestCredentials } from "../aws-endpoints.ts";
import { signedBy } from "../verify-url.ts";
import { startOidcIssuer, type OidcIssuer } from "./oidc-issuer.ts";
import { ROLE, rgwIam } from "./rgw-iam.ts";
import "./s3-target.ts";
import { apiClient, type RunningService, startService } from "./service.ts";

const s3 = inject("s3");
const TOKEN = "credentials-admin-token-0123456789abcdef";
const run = `credentials-${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), "signpost-e2e-credentials-"));
const body = `object for temporary credentials ${Math.random()}`;
const key = `${run}/object.txt`;

// --- RGW's STS and IAM, called with an independent client (aws4fetch) -----------------------------

const { client, rgwCredentials, webIdentityRole } = rgwIam(s3);

// --- signpost -------------------------------------------------------------------------------

/** No credentials from the machine running the tests: no AWS_* variables, no ~/.aws, no IMDS. */
const isolated = (env: Record<string, string> = {}) => ({
  SIGNPOST_ADMIN_TOKEN: TOKEN,
  HOME: dir,
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
  AWS_CONFIG_FILE: join(dir, "no-config"),
  AWS_EC2_METADATA_DISABLED: "true",
  ...env,
});

const rgwAccount = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ region: s3.region, host: s3.host, "path-style": true, "use-ssl": false, ...extra });

async function urlFrom(api: ReturnType<typeof apiClient>, account: string, query = "", method: "GET" | "PUT" = "GET", objectKey = key) {
  const response =
    method === "PUT"
      ? await api("POST", `/aws/storage/${account}/${s3.bucket}${query}`, JSON.stringify({ filename: objectKey }), "application/json")
      : await api("GET", `/aws/storage/${account}/${s3.bucket}/${objectKey}${query}`);
  expect(response.status, response.text).toBe(200);
  return { ...(response.json() as { url: string; "expires-at": string; "expiry-capped"?: true }), capped: response.headers.get("signpost-expiry-capped") };
}

async function expectAccepted(url: string) {
  const response = await fetch(url);
  expect(response.status, await response.clone().text()).toBe(200);
  expect(await response.text()).toBe(body);
}

async function expectRefused(url: string | URL) {
  const response = await fetch(url);
  expect([400, 403], await response.clone().text()).toContain(response.status);
}

type Api = ReturnType<typeof apiClient> & { base: string };
const services: RunningService[] = [];
async function start(env: Record<string, string>): Promise<Api> {
  const dataDir = mkdtempSync(join(dir, "data-"));
  const service = await startService("node", { env: isolated(env), dataDir });
  services.push(service);
  return Object.assign(apiClient(service.url, TOKEN), { base: service.url });
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!s3.rgwDir)("temporary credentials on RGW", () => {
  beforeAll(async () => {
    const put = await client("s3").fetch(`${s3.endpoint}/${s3.bucket}/${key}`, { method: "PUT", body });
    expect(put.status).toBe(200);
  });

  afterAll(async () => {
    for (const service of services) {
      const logs = service.stdout();
      expect(await service.stop()).toBe(0);
      expect(logs).not.toContain(s3.secretAccessKey);
      expect(logs).not.toContain("X-Amz-Signature");
    }
  });

  describe("role-arn: AssumeRole through RGW's STS", () => {
    let api: Api;
    beforeAll(async () => {
      // The environment's keys are the default credentials for the account without keys.
      api = await start({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });
      for (const [id, extra] of [
        ["role-keys", { "access-key-id": s3.accessKeyId, "secret-access-key": s3.secretAccessKey, "role-arn": ROLE }],
        ["role-chain", { "role-arn": ROLE, "role-session-name": "signpost-e2e", "duration-seconds": 900 }],
        ["role-missing", { "access-key-id": s3.accessKeyId, "secret-access-key": s3.secretAccessKey, "role-arn": "arn:aws:iam:::role/NoSuchRole" }],
      ] as const) {
        const created = await api("PUT", `/AwsAccount/${id}`, rgwAccount(extra), "application/json");
        expect(created.status, created.text).toBe(201);
      }
    });

    it.each(["role-keys", "role-chain"])("%s: URLs carry X-Amz-Security-Token and RGW accepts them (PUT, GET)", async (account) => {
      const objectKey = `${run}/${account}.txt`;
      const put = await urlFrom(api, account, "", "PUT", objectKey);
      const token = new URL(put.url).searchParams.get("X-Amz-Security-Token");
      expect(token).toBeTruthy();
      expect(new URL(put.url).searchParams.get("X-Amz-Credential")).not.toMatch(new RegExp(`^${s3.accessKeyId}/`));
      expect((await fetch(put.url, { method: "PUT", body: account })).status).toBe(200);
      const get = await urlFrom(api, account, "", "GET", objectKey);
      expect(await (await fetch(get.url)).text()).toBe(account);
    });

    it("RGW refuses the URL once the token is removed or altered", async () => {
      const { url } = await urlFrom(api, "role-keys");
      await expectAccepted(url);
      const removed = new URL(url);
      removed.searchParams.delete("X-Amz-Security-Token");
      await expectRefused(removed);
      const token = new URL(url).searchParams.get("X-Amz-Security-Token")!;
      for (const altered of [token.slice(0, -4) + (token.endsWith("AAAA") ? "BBBB" : "AAAA"), `${token[0] === "x" ? "y" : "x"}${token.slice(1)}`, token.slice(0, 20)]) {
        const tampered = new URL(url);
        tampered.searchParams.set("X-Amz-Security-Token", altered);
        await expectRefused(tampered);
      }
    });

    it("RGW refuses temporary keys signed without their token", async () => {
      const temporary = await rgwCredentials();
      const signer = createPresigner(nodeSha256);
      const sign = (sessionToken?: string) =>
        signer.presign({
          method: "GET",
          protocol: "http:",
          host: s3.host,
          path: `/${s3.bucket}/${key}`,
          region: s3.region,
          credentials: { ...temporary, ...(sessionToken ? { sessionToken } : { sessionToken: undefined }) },
          expiresIn: 60,
          date: new Date(),
        });
      await expectAccepted(await sign(temporary.sessionToken));
      await expectRefused(await sign());
    });

    it("caps URLs at the session's end (duration-seconds 900, a day asked)", async () => {
      const answer = await urlFrom(api, "role-chain", "?expiration=86400");
      const expires = Number(new URL(answer.url).searchParams.get("X-Amz-Expires"));
      expect(expires).toBeLessThanOrEqual(900);
      expect(expires).toBeGreaterThan(800);
      expect(answer["expiry-capped"]).toBe(true);
      expect(answer.capped).toBe("true");
      const date = new URL(answer.url).searchParams.get("X-Amz-Date")!;
      const signedAt = Date.parse(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
      expect(Date.parse(answer["expires-at"])).toBe(signedAt + expires * 1000);
      await expectAccepted(answer.url);
    });

    it("answers 503 naming the role and RGW's refusal for a role that does not exist", async () => {
      const response = await api("GET", `/aws/storage/role-missing/${s3.bucket}/${key}`);
      expect(response.status).toBe(503);
      expect(response.json().issue[0].diagnostics).toMatch(/^cannot assume role arn:aws:iam:::role\/NoSuchRole for AwsAccount\/role-missing: STS AssumeRole at http:\/\/127\.0\.0\.1:\d+: HTTP 404 NoSuchEntity/);
      expect(response.text).not.toContain(s3.secretAccessKey);
    });
  });

  describe("container credentials (EKS Pod Identity) handing out RGW STS credentials", () => {
    let endpoint: ContainerEndpoint;
    let api: Api;
    let last: TestCredentials;
    beforeAll(async () => {
      endpoint = await containerEndpoint({
        path: "/v1/credentials",
        token: "eks-pod-identity-token",
        // Real 15-minute RGW sessions, announced as ending in 10 minutes: the cap must follow what is announced.
        credentials: async () => (last = { ...(await rgwCredentials(900)), expiration: new Date(Date.now() + 600_000) }),
      });
      writeFileSync(join(dir, "pod-identity-token"), "eks-pod-identity-token");
      api = await start({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.origin}/v1/credentials`, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(dir, "pod-identity-token") });
      expect((await api("PUT", "/AwsAccount/pod", rgwAccount(), "application/json")).status).toBe(201);
    });
    afterAll(() => endpoint.close());

    it("answers 503 while the endpoint fails, stays up, then signs URLs RGW accepts, capped at 10 minutes", async () => {
      for (const [fault, pattern] of [
        ["expired", /container: the credentials it gave expired at/],
        ["500", /container: http:\/\/127\.0\.0\.1:\d+\/v1\/credentials answered HTTP 500 \(4 attempts\)/],
      ] as const) {
        endpoint.fault = fault;
        const response = await api("GET", `/aws/storage/pod/${s3.bucket}/${key}`);
        expect(response.status).toBe(503);
        expect(response.json().issue[0].diagnostics).toMatch(pattern);
        expect((await fetch(`${api.base}/health`)).status).toBe(200);
      }
      endpoint.fault = "none";
      const answer = await urlFrom(api, "pod", "?expiration=86400");
      expect(Number(new URL(answer.url).searchParams.get("X-Amz-Expires"))).toBeLessThanOrEqual(600);
      expect(answer.capped).toBe("true");
      expect(Math.abs(Date.parse(answer["expires-at"]) - last.expiration.getTime())).toBeLessThan(1000);
      expect(new URL(answer.url).searchParams.get("X-Amz-Security-Token")).toBe(last.sessionToken);
      await expectAccepted(answer.url);
      expect(endpoint.authorizations.every((a) => a === "eks-pod-identity-token")).toBe(true);
    });
  });

  describe("EC2 instance metadata (IMDSv2) handing out RGW STS credentials", () => {
    let endpoint: ImdsEndpoint;
    beforeAll(async () => {
      endpoint = await imdsEndpoint({ credentials: () => rgwCredentials(900) });
    });
    afterAll(() => endpoint.close());

    it("signs URLs RGW accepts, with one fetch for many URLs", async () => {
      const api = await start({ AWS_EC2_METADATA_DISABLED: "false", AWS_EC2_METADATA_SERVICE_ENDPOINT: endpoint.origin });
      expect((await api("PUT", "/AwsAccount/ec2", rgwAccount(), "application/json")).status).toBe(201);
      for (let i = 0; i < 3; i++) await expectAccepted((await urlFrom(api, "ec2")).url);
      expect(endpoint.fetches()).toBe(1);
      expect(endpoint.unauthorized()).toBe(0);
    });
  });

  describe("web identity (IRSA) against RGW's AssumeRoleWithWebIdentity and a local OIDC issuer", () => {
    let issuer: OidcIssuer;
    const clientId = "signpost-e2e";
    let roleArn: string;
    beforeAll(async () => {
      issuer = await startOidcIssuer();
      roleArn = await webIdentityRole(issuer, clientId, "SignpostWebIdentity");
    });
    afterAll(() => issuer.close());

    it("refuses a token signed with a foreign key (503 naming STS's answer), then works with a good one, re-reading the file", async () => {
      const tokenFile = join(dir, "irsa-token");
      writeFileSync(tokenFile, issuer.token({ sub: "system:serviceaccount:default:signpost", aud: clientId }, { key: "other" }));
      const api = await start({ AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: roleArn, AWS_ROLE_SESSION_NAME: "signpost-irsa", AWS_ENDPOINT_URL_STS: s3.endpoint });
      expect((await api("PUT", "/AwsAccount/irsa", rgwAccount(), "application/json")).status).toBe(201);
      const refused = await api("GET", `/aws/storage/irsa/${s3.bucket}/${key}`);
      expect(refused.status).toBe(503);
      expect(refused.json().issue[0].diagnostics).toMatch(/web identity: STS AssumeRoleWithWebIdentity at http:\/\/127\.0\.0\.1:\d+: HTTP (400|403)/);
      writeFileSync(tokenFile, issuer.token({ sub: "system:serviceaccount:default:signpost", aud: clientId }));
      const answer = await urlFrom(api, "irsa");
      expect(new URL(answer.url).searchParams.get("X-Amz-Security-Token")).toBeTruthy();
      await expectAccepted(answer.url);
    });
  });

  describe("1000 concurrent presign requests while the credentials are refreshed", () => {
    it("cause exactly one upstream fetch, and RGW accepts all 1000 URLs", { timeout: 120_000 }, async () => {
      const issued: TestCredentials[] = [];
      const endpoint = await containerEndpoint({ path: "/v1/credentials", credentials: async () => issued[issued.push(await rgwCredentials(900)) - 1]! });
      // The real app over real HTTP; only the credential chain's clock can be moved forward.
      let offset = 0;
      const io = nodeIo({ HOME: dir, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.origin}/v1/credentials` });
      const { app } = createTestApp({
        credentials: defaultChain(io, { signer: createPresigner(nodeSha256), now: () => Date.now() + offset }),
        adminToken: TOKEN,
        now: Date.now, // RGW checks the signing time
      });
      const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
      await new Promise((resolve) => server.once("listening", resolve));
      const api = apiClient(`http://127.0.0.1:${(server.address() as { port: number }).port}`, TOKEN);
      try {
        expect((await api("PUT", "/AwsAccount/busy", rgwAccount(), "application/json")).status).toBe(201);
        await expectAccepted((await urlFrom(api, "busy")).url);
        expect(endpoint.fetches()).toBe(1);

        offset = issued[0]!.expiration.getTime() - Date.now() - 4 * 60_000; // 4 minutes left: a refresh is due
        endpoint.delayMs = 300; // long enough for all 1000 requests to arrive during it
        const answers = await Promise.all(Array.from({ length: 1000 }, () => urlFrom(api, "busy")));
        expect(endpoint.fetches()).toBe(2);
        const fresh = issued[1]!;
        for (const { url } of answers) {
          expect(new URL(url).searchParams.get("X-Amz-Credential")!.startsWith(`${fresh.accessKeyId}/`)).toBe(true);
          expect(await signedBy(url, "GET", fresh)).toBe(true);
        }
        let next = 0;
        const statuses: number[] = [];
        await Promise.all(Array.from({ length: 25 }, async () => {
          while (next < answers.length) {
            const response = await fetch(answers[next++]!.url);
            statuses.push(response.status);
            await response.arrayBuffer();
          }
        }));
        expect(statuses).toEqual(Array(1000).fill(200));
      } finally {
        server.close();
        await endpoint.close();
      }
    });
  });
});
