// Issue 11, end to end on every runtime: a client's policy holds at S3, not only at signpost's door. RGW acts on
// x-amz-* headers a presigned URL does not sign, so each attack below (unsigned x-amz-copy-source, x-amz-acl,
// x-amz-grant-*, UploadPartCopy, extra form fields) is tried against the real server with the URLs signpost hands a
// prefix-limited client, and must fail there. signpost's own calls must not follow redirects nor read unbounded
// answers. Needs a role the S3 keys may assume (the setup's RGW has one; elsewhere S3_ROLE_ARN).
import { createServer, type Server } from "node:http";
import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TEST_ENCRYPTION_KEY } from "../sealer.ts";
import { startTokenIssuer, type TokenIssuer } from "../token-issuer.ts";
import "./s3-target.ts";
import { apiClient, RUNTIMES, type RunningService, startService, tempDataDir } from "./service.ts";

const s3 = inject("s3");
const TOKEN = "security-admin-token-0123456789abcdef";
const ALL_USERS = 'uri="http://acs.amazonaws.com/groups/global/AllUsers"';
const rgw = new AwsClient({ accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, service: "s3", region: s3.region, retries: 0 });
const encodePath = (key: string) => key.split("/").map(encodeURIComponent).join("/");
const objectUrl = (bucket: string, key: string) => `${s3.endpoint}/${bucket}/${encodePath(key)}`;
const suffix = Date.now().toString(36);
const otherBucket = `sp-sec-other-${suffix}`;
const lockedBucket = `sp-sec-lock-${suffix}`;

/** Does the object exist, as the account's owner sees it? */
const exists = async (bucket: string, key: string) => (await rgw.fetch(objectUrl(bucket, key), { method: "HEAD" })).status === 200;

it("the Worker refuses an admin token under 16 characters, as Node and Deno do at start", async () => {
  const worker = await startService("worker", { env: { SIGNPOST_ADMIN_TOKEN: "short-token" } });
  try {
    const response = await apiClient(worker.url, "short-token")("GET", "/AwsAccount");
    expect(response.status).toBe(503);
    expect(response.json().issue[0].diagnostics).toMatch(/at least 16 characters/);
  } finally {
    await worker.stop();
  }
});

describe.skipIf(!s3.roleArn)("a client's policy holds at S3 (issue 11)", () => {
  beforeAll(async () => {
    for (const [bucket, headers] of [[otherBucket, {}], [lockedBucket, { "x-amz-bucket-object-lock-enabled": "true" }]] as const) {
      const created = await rgw.fetch(`${s3.endpoint}/${bucket}`, { method: "PUT", headers });
      expect(created.status, await created.text()).toBe(200);
    }
    expect((await rgw.fetch(objectUrl(s3.bucket, `private/${suffix}/secret.txt`), { method: "PUT", body: "the secret" })).status).toBe(200);
    expect((await rgw.fetch(objectUrl(otherBucket, "payroll.csv"), { method: "PUT", body: "name,salary" })).status).toBe(200);
  });

  describe.each(RUNTIMES)("%s", (runtime) => {
    let service: RunningService;
    let admin: ReturnType<typeof apiClient>;
    let alice: ReturnType<typeof apiClient>;
    let aliceSecret: string;
    let issuer: TokenIssuer;
    const [dataDir, removeDataDir] = tempDataDir(`security-${runtime}`);
    const home = `users/alice/${runtime}-${suffix}`;
    const account = (extra: Record<string, unknown>) =>
      JSON.stringify({ region: s3.region, host: s3.host, "path-style": true, "use-ssl": s3.endpoint.startsWith("https:"), "access-key-id": s3.accessKeyId, "secret-access-key": s3.secretAccessKey, ...extra });

    beforeAll(async () => {
      service = await startService(runtime, { dataDir, env: { SIGNPOST_ADMIN_TOKEN: TOKEN, SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } });
      admin = apiClient(service.url, TOKEN);
      // The README's multi-tenant recipe: the account's keys plus a role whose sessions signpost narrows per client.
      for (const [id, extra] of [["tenant", { "role-arn": s3.roleArn }], ["plain", {}], ["trusting", { "single-tenant": true }]] as const) {
        const created = await admin("PUT", `/AwsAccount/${id}`, account(extra), "application/json");
        expect(created.status, created.text).toBe(201);
      }
      const client = await admin("PUT", "/Client/alice", JSON.stringify({ policy: { operations: ["upload", "download"], accounts: ["tenant", "plain", "trusting"], prefixes: ["users/{client}/"] } }), "application/json");
      expect(client.status, client.text).toBe(201);
      aliceSecret = client.json().secret;
      alice = apiClient(service.url, aliceSecret);
      // End users of an app, each in a folder of their own (issue 14): the same narrowing as a client's.
      issuer = await startTokenIssuer();
      await issuer.addKey("ES256");
      const policy = { operations: ["upload", "download"], accounts: ["tenant"], prefixes: [`users/{jwt.sub}/${runtime}-${suffix}/`] };
      const introspector = await admin("PUT", "/TokenIntrospector/app", JSON.stringify({ type: "jwt", jwt: { iss: issuer.url }, policy }), "application/json");
      expect(introspector.status, introspector.text).toBe(201);
    });

    afterAll(async () => {
      await issuer?.close();
      expect(service.stdout()).not.toContain(s3.secretAccessKey);
      await service?.stop();
      removeDataDir();
    });

    const uploadUrl = async (accountId: string, key: string, bucket = s3.bucket) => {
      const response = await alice("POST", `/aws/storage/${accountId}/${bucket}`, JSON.stringify({ filename: key }), "application/json");
      expect(response.status, response.text).toBe(200);
      return response.json().url as string;
    };
    const downloadUrl = async (accountId: string, key: string) => {
      const response = await alice("GET", `/aws/storage/${accountId}/${s3.bucket}/${encodePath(key)}`);
      expect(response.status, response.text).toBe(200);
      return response.json().url as string;
    };
    const op = async (as: ReturnType<typeof apiClient>, accountId: string, name: string, body: Record<string, unknown>, bucket = s3.bucket) => {
      const response = await as("POST", `/aws/storage/${accountId}/${bucket}/$${name}`, JSON.stringify(body), "application/json");
      return { status: response.status, json: response.text ? response.json() : undefined, text: response.text };
    };

    describe("with a role-arn: client URLs are signed with credentials narrowed to the client's grant", () => {
      it("uploads and downloads normally in its own folder", async () => {
        const url = await uploadUrl("tenant", `${home}/photo.txt`);
        expect(new URL(url).searchParams.get("X-Amz-Security-Token")).toBeTruthy();
        expect((await fetch(url, { method: "PUT", body: "alice's photo" })).status).toBe(200);
        expect(await (await fetch(await downloadUrl("tenant", `${home}/photo.txt`))).text()).toBe("alice's photo");
      });

      it.each([
        ["x-amz-copy-source from another folder", { "x-amz-copy-source": `/${s3.bucket}/private/${suffix}/secret.txt` }],
        ["x-amz-copy-source from another bucket", { "x-amz-copy-source": `/${otherBucket}/payroll.csv` }],
        ["x-amz-acl: public-read", { "x-amz-acl": "public-read" }],
        ["x-amz-grant-read for everyone", { "x-amz-grant-read": ALL_USERS }],
        ["x-amz-grant-full-control for everyone", { "x-amz-grant-full-control": ALL_USERS }],
      ])("refuses an upload URL sent with %s", async (name, headers) => {
        const key = `${home}/attack-${name.replace(/\W+/g, "-")}`;
        const attack = await fetch(await uploadUrl("tenant", key), { method: "PUT", body: "x", headers });
        expect(attack.status, await attack.text()).toBe(403);
        expect(await exists(s3.bucket, key)).toBe(false);
        expect((await fetch(objectUrl(s3.bucket, key))).status).not.toBe(200); // not readable anonymously
      });

      it("refuses UploadPartCopy through a part URL, while a normal multipart upload works", async () => {
        const key = `${home}/big.bin`;
        const created = await op(alice, "tenant", "create-multipart", { filename: key });
        expect(created.status, created.text).toBe(200);
        const uploadId = created.json["upload-id"];
        const parts = await op(alice, "tenant", "presign-parts", { filename: key, "upload-id": uploadId, parts: [1] });
        const partUrl = parts.json.parts[0].url;
        const copy = await fetch(partUrl, { method: "PUT", headers: { "x-amz-copy-source": `/${s3.bucket}/private/${suffix}/secret.txt` } });
        expect(copy.status, await copy.text()).toBe(403);
        const part = await fetch(partUrl, { method: "PUT", body: "one small part" });
        expect(part.status).toBe(200);
        const done = await op(alice, "tenant", "complete-multipart", { filename: key, "upload-id": uploadId, parts: [{ "part-number": 1, etag: part.headers.get("etag") }] });
        expect(done.status, done.text).toBe(200);
        expect(await (await fetch(await downloadUrl("tenant", key))).text()).toBe("one small part");
      });

      it("a user's token (issue 14): its upload URL cannot copy another user's file, and works in its own folder", async () => {
        await rgw.fetch(objectUrl(s3.bucket, `users/bob/${runtime}-${suffix}/diary.txt`), { method: "PUT", body: "bob's diary" });
        const carol = apiClient(service.url, await issuer.token({ sub: "carol" }));
        const key = `users/carol/${runtime}-${suffix}/copy.txt`;
        const answer = await carol("POST", `/aws/storage/tenant/${s3.bucket}`, JSON.stringify({ filename: key }), "application/json");
        expect(answer.status, answer.text).toBe(200);
        const url = answer.json().url as string;
        const copy = await fetch(url, { method: "PUT", headers: { "x-amz-copy-source": `/${s3.bucket}/users/bob/${runtime}-${suffix}/diary.txt` } });
        expect(copy.status, await copy.text()).toBe(403);
        expect(await exists(s3.bucket, key)).toBe(false);
        expect((await fetch(url, { method: "PUT", body: "carol's own" })).status).toBe(200);
        const bobs = await carol("GET", `/aws/storage/tenant/${s3.bucket}/users/bob/${runtime}-${suffix}/diary.txt`);
        expect(bobs.status).toBe(403);
      });

      it("hands out forms, whose fields S3 holds to their policy", async () => {
        const policy = (await op(alice, "tenant", "post-policy", { filename: `${home}/form.txt` })).json as { url: string; fields: Record<string, string> };
        const post = (extra: Record<string, string>) => {
          const form = new FormData();
          for (const [field, value] of Object.entries({ ...policy.fields, ...extra })) form.append(field, value);
          form.append("file", new Blob(["form body"]), "form.txt");
          return fetch(policy.url, { method: "POST", body: form });
        };
        for (const extra of [{ acl: "public-read" }, { "x-amz-grant-read": ALL_USERS }, { "x-amz-copy-source": `/${otherBucket}/payroll.csv` }] as Record<string, string>[]) {
          expect((await post(extra)).status, JSON.stringify(extra)).toBe(403);
        }
        expect((await post({})).status).toBe(204);
        expect(await (await fetch(await downloadUrl("tenant", `${home}/form.txt`))).text()).toBe("form body");
      });

      describe("Uppy's $sign and Companion's routes (issue 15)", () => {
        const sign = (as: ReturnType<typeof apiClient>, accountId: string, request: Record<string, unknown>) => as("POST", `/aws/storage/${accountId}/${s3.bucket}/$sign`, JSON.stringify(request), "application/json");
        const signed = async (request: Record<string, unknown>) => {
          const answer = await sign(alice, "tenant", request);
          expect(answer.status, answer.text).toBe(200);
          return answer.json().url as string;
        };
        const uploadIdIn = async (response: Response) => /<UploadId>([^<]+)<\/UploadId>/.exec(await response.text())?.[1];

        it("its URLs hold at S3: PutObject and UploadPart cannot copy; ListParts and abort work under the narrowed credentials", async () => {
          const key = `${home}/sign-copy.txt`;
          const copy = await fetch(await signed({ method: "PUT", key }), { method: "PUT", headers: { "x-amz-copy-source": `/${s3.bucket}/private/${suffix}/secret.txt` } });
          expect(copy.status, await copy.text()).toBe(403);
          expect(await exists(s3.bucket, key)).toBe(false);

          const big = `${home}/sign-big.bin`;
          const created = await op(alice, "tenant", "create-multipart", { filename: big });
          const uploadId = created.json["upload-id"];
          const partUrl = await signed({ method: "PUT", key: big, uploadId, partNumber: 1 });
          const partCopy = await fetch(partUrl, { method: "PUT", headers: { "x-amz-copy-source": `/${s3.bucket}/private/${suffix}/secret.txt` } });
          expect(partCopy.status, await partCopy.text()).toBe(403);
          expect((await fetch(partUrl, { method: "PUT", body: "a part", headers: { "x-amz-acl": "public-read" } })).status).toBe(403);
          expect((await fetch(partUrl, { method: "PUT", body: "a part" })).status).toBe(200);
          // The narrowed session may list and abort its own uploads (s3:ListMultipartUploadParts, s3:AbortMultipartUpload)
          const listed = await fetch(await signed({ method: "GET", key: big, uploadId }));
          expect(listed.status).toBe(200);
          expect(await listed.text()).toContain("<PartNumber>1</PartNumber>");
          expect((await fetch(await signed({ method: "DELETE", key: big, uploadId }), { method: "DELETE" })).status).toBe(204);
          expect((await fetch(await signed({ method: "GET", key: big, uploadId }))).status).toBe(404);
        });

        it("gives no CreateMultipartUpload URL (RGW lets its holder make the upload public, whatever the session policy says); signpost's own create is private", async () => {
          const refused = await sign(alice, "tenant", { method: "POST", key: `${home}/public.bin` });
          expect(refused.status).toBe(403);
          expect(refused.json().issue[0].diagnostics).toMatch(/no CreateMultipartUpload URL for this client: .*x-amz-acl.*Companion routes.*single-tenant/);
          expect(refused.text).not.toContain("X-Amz-Signature");
          // Through the Companion routes signpost creates the upload itself, with no header of the client's.
          const created = await alice("POST", `/companion/tenant/${s3.bucket}/s3/multipart`, JSON.stringify({ filename: "private.bin" }), "application/json");
          expect(created.status, created.text).toBe(200);
          const { key, uploadId } = created.json();
          const part = await fetch(await signed({ method: "PUT", key, uploadId, partNumber: 1 }), { method: "PUT", body: "private bytes" });
          const done = await alice("POST", `/companion/tenant/${s3.bucket}/s3/multipart/${encodeURIComponent(uploadId)}/complete?key=${encodeURIComponent(key)}`, JSON.stringify({ parts: [{ PartNumber: 1, ETag: part.headers.get("etag") }] }), "application/json");
          expect(done.status, done.text).toBe(200);
          expect(await (await rgw.fetch(`${objectUrl(s3.bucket, key)}?acl`)).text()).not.toContain("AllUsers");
          expect((await fetch(objectUrl(s3.bucket, key))).status).toBe(403); // not readable anonymously
        });

        it("someone else's upload: refused on their key, and their upload id is no use on one's own", async () => {
          const created = await admin("PUT", "/Client/bob", JSON.stringify({ policy: { operations: ["upload"], accounts: ["tenant"], prefixes: ["users/{client}/"] } }), "application/json");
          expect(created.status, created.text).toBe(201);
          const bob = apiClient(service.url, created.json().secret);
          const bobsKey = `users/bob/${runtime}-${suffix}/big.bin`;
          const bobsUpload = await op(bob, "tenant", "create-multipart", { filename: bobsKey });
          expect(bobsUpload.status, bobsUpload.text).toBe(200);
          const uploadId = bobsUpload.json["upload-id"];
          for (const request of [{ method: "PUT", key: bobsKey, uploadId, partNumber: 1 }, { method: "POST", key: bobsKey, uploadId }, { method: "GET", key: bobsKey, uploadId }, { method: "DELETE", key: bobsKey, uploadId }]) {
            expect((await sign(alice, "tenant", request)).status, JSON.stringify(request)).toBe(403);
          }
          for (const path of [`/multipart/${encodeURIComponent(uploadId)}/1`, `/multipart/${encodeURIComponent(uploadId)}`]) {
            expect((await alice("GET", `/companion/tenant/${s3.bucket}/s3${path}?key=${encodeURIComponent(bobsKey)}`)).status, path).toBe(403);
          }
          // S3 binds an upload to its key: bob's id on alice's key names no upload
          const stray = await fetch(await signed({ method: "PUT", key: `${home}/stray.bin`, uploadId, partNumber: 1 }), { method: "PUT", body: "into bob's upload?" });
          expect(stray.status).toBe(404);
          expect((await op(bob, "tenant", "list-parts", { filename: bobsKey, "upload-id": uploadId })).json.parts).toEqual([]);
        });

        it("Companion's multipart upload is narrowed too: its part URL cannot copy", async () => {
          const created = await alice("POST", `/companion/tenant/${s3.bucket}/s3/multipart`, JSON.stringify({ filename: "c.bin", type: "application/octet-stream" }), "application/json");
          expect(created.status, created.text).toBe(200);
          const { key, uploadId } = created.json();
          expect(key.startsWith("users/alice/")).toBe(true);
          const part = await alice("GET", `/companion/tenant/${s3.bucket}/s3/multipart/${encodeURIComponent(uploadId)}/1?key=${encodeURIComponent(key)}`);
          const copy = await fetch(part.json().url, { method: "PUT", headers: { "x-amz-copy-source": `/${s3.bucket}/private/${suffix}/secret.txt` } });
          expect(copy.status, await copy.text()).toBe(403);
        });
      });

      it("refuses client uploads into a bucket with Object Lock, which no session policy can keep a URL from using", async () => {
        const refused = await alice("POST", `/aws/storage/tenant/${lockedBucket}`, JSON.stringify({ filename: `${home}/x` }), "application/json");
        expect(refused.status).toBe(403);
        expect(refused.json().issue[0].diagnostics).toMatch(/Object Lock enabled/);
      });
    });

    describe("without a role-arn, on a server that acts on unsigned headers", () => {
      it("refuses client upload and part URLs, naming the fix; forms, downloads and the admin's URLs still work", async () => {
        const refused = await alice("POST", `/aws/storage/plain/${s3.bucket}`, JSON.stringify({ filename: `${home}/x` }), "application/json");
        expect(refused.status).toBe(403);
        expect(refused.json().issue[0].diagnostics).toMatch(/acts on x-amz-\* headers.*role-arn.*single-tenant/);
        for (const [name, body] of [["create-multipart", { filename: `${home}/x` }], ["presign-parts", { filename: `${home}/x`, "upload-id": "u", parts: [1] }]] as const) {
          expect((await op(alice, "plain", name, body)).status, name).toBe(403);
        }
        // RGW holds forms to their policy (a field it does not name is refused), so a form is as narrow as its policy.
        expect((await op(alice, "plain", "post-policy", { filename: `${home}/x` })).status).toBe(200);
        expect((await fetch(await downloadUrl("plain", `${home}/photo.txt`))).status).toBe(200);
        const byAdmin = await admin("POST", `/aws/storage/plain/${s3.bucket}`, JSON.stringify({ filename: `${home}/by-admin.txt` }), "application/json");
        expect((await fetch(byAdmin.json().url, { method: "PUT", body: "ok" })).status).toBe(200);
      });

      it("refuses $sign's and Companion's write URLs as well (issue 15); forms, list and abort URLs are still given", async () => {
        for (const request of [{ method: "PUT", key: `${home}/x` }, { method: "POST", key: `${home}/x` }, { method: "PUT", key: `${home}/x`, uploadId: "u", partNumber: 1 }, { method: "POST", key: `${home}/x`, uploadId: "u" }]) {
          const refused = await alice("POST", `/aws/storage/plain/${s3.bucket}/$sign`, JSON.stringify(request), "application/json");
          expect(refused.status, JSON.stringify(request)).toBe(403);
          expect(refused.json().issue[0].diagnostics).toMatch(request.method === "POST" && !request.uploadId ? /no CreateMultipartUpload URL/ : /acts on x-amz-\* headers.*role-arn.*single-tenant/);
        }
        for (const request of [{ method: "GET", key: `${home}/x`, uploadId: "u" }, { method: "DELETE", key: `${home}/x`, uploadId: "u" }]) {
          expect((await alice("POST", `/aws/storage/plain/${s3.bucket}/$sign`, JSON.stringify(request), "application/json")).status, JSON.stringify(request)).toBe(200);
        }
        const base = `/companion/plain/${s3.bucket}/s3`;
        const multipart = await alice("POST", `${base}/multipart`, JSON.stringify({ filename: "x" }), "application/json");
        expect(multipart.status).toBe(403);
        expect(multipart.json().error.message).toMatch(/role-arn/);
        const put = await fetch(`${service.url}${base}/params?filename=x`, { headers: { authorization: `Bearer ${aliceSecret}`, accept: "application/json" } });
        expect(put.status).toBe(403);
        expect((await alice("GET", `${base}/params?filename=x`)).status).toBe(200); // a form, which RGW holds to its policy
      });

      it("hands them out when the admin marked the account single-tenant, which means exactly what it says", async () => {
        const key = `${home}/copied-on-purpose.txt`;
        const copied = await fetch(await uploadUrl("trusting", key), { method: "PUT", headers: { "x-amz-copy-source": `/${s3.bucket}/private/${suffix}/secret.txt` } });
        expect(copied.status).toBe(200);
        expect(await (await fetch(await downloadUrl("trusting", key))).text()).toBe("the secret");
      });
    });

    describe("$verify", () => {
      const verify = async (id: string, bucket = s3.bucket) => {
        const response = await admin("POST", `/AwsAccount/${id}/$verify?bucket=${bucket}`);
        expect(response.status, response.text).toBe(200);
        const outcome = response.json();
        expect(outcome.resourceType).toBe("OperationOutcome");
        return Object.fromEntries(outcome.issue.map((issue: { details: { coding: { code: string }[] }; severity: string; diagnostics: string }) => [issue.details.coding[0]!.code, `${issue.severity}: ${issue.diagnostics}`]));
      };

      it("tells what the server does with unsigned headers and what that means for client uploads", async () => {
        const plain = await verify("plain");
        expect(plain["access"]).toMatch(/^information/);
        expect(plain["unsigned-headers"]).toMatch(/^warning: an unsigned x-amz-copy-source on a presigned PUT was acted on/);
        expect(plain["form-fields"]).toMatch(/^information: a form field its policy does not name was refused/);
        expect(plain["client-uploads"]).toMatch(/^warning: .*refused/);
        expect(plain["cors"]).toMatch(/no CORS configuration/);
        const tenant = await verify("tenant");
        expect(tenant["scoped-credentials"]).toMatch(/^information/);
        expect(tenant["client-uploads"]).toMatch(/narrowed to each client's grant/);
        expect((await verify("tenant", lockedBucket))["object-lock"]).toMatch(/Object Lock enabled/);
      });

      it("one account's checks do not decide for another's clients on the same server (no shared verdicts)", async () => {
        expect((await admin("PUT", "/AwsAccount/poison", account({ "secret-access-key": "not-the-secret-0123456789", "role-arn": s3.roleArn }), "application/json")).status).toBe(201);
        for (let i = 0; i < 2; i++) await admin("POST", `/AwsAccount/poison/$verify?bucket=${s3.bucket}`);
        const url = await uploadUrl("tenant", `${home}/after-poison.txt`);
        expect((await fetch(url, { method: "PUT", body: "still fine" })).status).toBe(200);
      });

      it("reports wrong keys without showing them", async () => {
        expect((await admin("PUT", "/AwsAccount/wrong", account({ "secret-access-key": "not-the-secret-0123456789" }), "application/json")).status).toBe(201);
        const wrong = await verify("wrong");
        expect(wrong["access"]).toMatch(/^error: S3 refused the credentials/);
        expect(JSON.stringify(wrong)).not.toContain("not-the-secret");
      });
    });

    describe("signpost's own calls out (issue 11, 4)", () => {
      let target: Server;
      let evil: Server;
      let targetHits = 0;
      let evilHost = "";
      beforeAll(async () => {
        target = createServer((_, res) => (targetHits++, res.writeHead(200).end("<ListPartsResult></ListPartsResult>")));
        await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
        const targetUrl = `http://127.0.0.1:${(target.address() as { port: number }).port}`;
        // Redirects everything (S3 calls and STS) to the recording target, except /huge/ which streams 400 MiB.
        evil = createServer((req, res) => {
          if (!req.url!.includes("/huge/")) return void res.writeHead(307, { location: `${targetUrl}${req.url}` }).end();
          res.writeHead(200, { "content-type": "application/xml" });
          const chunk = Buffer.alloc(64 * 1024, "x");
          let sent = 0;
          const push = () => {
            while (sent < 400 * 1024 * 1024 && !res.destroyed) {
              sent += chunk.length;
              if (!res.write(chunk)) return void res.once("drain", push);
            }
            res.end();
          };
          push();
        });
        await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
        evilHost = `127.0.0.1:${(evil.address() as { port: number }).port}`;
        for (const [id, extra] of [["evil", {}], ["evil-role", { "role-arn": s3.roleArn }]] as const) {
          expect((await admin("PUT", `/AwsAccount/${id}`, JSON.stringify({ region: "us-east-1", host: evilHost, "path-style": true, "use-ssl": false, "access-key-id": "AKIDEVIL", "secret-access-key": "evil-secret-0123456789", ...extra }), "application/json")).status).toBe(201);
        }
      });
      afterAll(() => {
        target?.close();
        evil?.closeAllConnections();
        evil?.close();
      });

      it("follow no redirect: neither the S3 calls nor STS reach where a 307 points", async () => {
        const listed = await op(admin, "evil", "list-parts", { filename: "k", "upload-id": "u" }, "bucket");
        expect(listed.status).toBe(502);
        expect(listed.json.issue[0].diagnostics).toMatch(/HTTP 307/);
        const assumed = await admin("GET", "/aws/storage/evil-role/bucket/k");
        expect(assumed.status).toBe(503);
        expect(assumed.json().issue[0].diagnostics).toMatch(/HTTP 307/);
        expect(targetHits).toBe(0);
      });

      it("a manager cannot send an account's hidden external-id to a listener of its own, or as itself (an attack, 2026-12-01)", async () => {
        const heard: string[] = [];
        const listener = createServer((req, res) => {
          let body = "";
          req.on("data", (chunk) => (body += chunk));
          req.on("end", () => (heard.push(body), res.writeHead(403).end()));
        });
        await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
        try {
          const listenerHost = `127.0.0.1:${(listener.address() as { port: number }).port}`;
          expect((await admin("PUT", "/AwsAccount/partner", account({ "role-arn": s3.roleArn, "external-id": "hidden-external-id-e2e" }), "application/json")).status).toBe(201);
          const created = await admin("PUT", "/Client/ops", JSON.stringify({ policy: { operations: ["manage-accounts", "assume-role", "download"], accounts: ["partner"] } }), "application/json");
          const ops = apiClient(service.url, created.json().secret);
          const download = () => ops("GET", `/aws/storage/partner/${s3.bucket}/${encodePath(`private/${suffix}/secret.txt`)}`);
          expect((await download()).status).toBe(200); // the role, assumed at RGW with the hidden id
          const ownKeys = { "access-key-id": "AKIDMANAGEROWN", "secret-access-key": "manager-own-secret-0123" };
          for (const patch of [{ host: listenerHost, "use-ssl": false, ...ownKeys }, ownKeys]) {
            const moved = await ops("PATCH", "/AwsAccount/partner", JSON.stringify(patch), "application/merge-patch+json");
            expect(moved.status, moved.text).toBe(403);
            expect(moved.json().issue[0].diagnostics).toMatch(/while keeping its external-id/);
            expect((await download()).status).toBe(200);
          }
          expect(heard).toEqual([]);
          // Dropping the id, the manager may point the role anywhere: the listener hears that AssumeRole, without it.
          const dropped = await ops("PATCH", "/AwsAccount/partner", JSON.stringify({ host: listenerHost, "use-ssl": false, ...ownKeys, "external-id": null }), "application/merge-patch+json");
          expect(dropped.status, dropped.text).toBe(200);
          expect((await download()).status).toBe(503);
          expect(heard.length).toBeGreaterThan(0);
          expect(heard.join("\n")).toMatch(/Action=AssumeRole/);
          expect(heard.join("\n")).not.toContain("hidden-external-id-e2e");
        } finally {
          listener.closeAllConnections();
          listener.close();
        }
      });

      it("cut a 400 MiB answer off at the call's limit", async () => {
        const listed = await op(admin, "evil", "list-parts", { filename: "huge/k", "upload-id": "u" }, "bucket");
        expect(listed.status).toBe(502);
        expect(listed.json.issue[0].diagnostics).toMatch(/larger than 1048576 bytes/);
        expect((await fetch(`${service.url}/health`)).status).toBe(200);
      });
    });
  });
});
