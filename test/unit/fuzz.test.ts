// Property-based: 10,000 generated requests across every endpoint, hostile input included, against one app
// whose state they change as they go. Every answer must be a well-formed success or OperationOutcome, never
// a 500, never a secret, no URL may ever fall outside the calling client's (template-filled) policy, a client
// manager never widens a grant nor touches a peer, and no call signpost makes itself may follow a redirect.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AwsAccount } from "../../src/domain/account.ts";
import { createApp } from "../../src/app.ts";
import type { Client } from "../../src/domain/client.ts";
import { effectivePolicy, type Policy, policyWithin } from "../../src/domain/policy.ts";
import { fromEnv } from "../../src/credentials/env.ts";
import { nodeSha256 } from "../../src/runtime/node-crypto.ts";
import { createPresigner } from "../../src/aws/signer.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { createTestApp } from "../app.ts";

const ADMIN = "fuzz-admin-token-0123456789abcdef";
const AWS_SECRET = "fuzz-aws-secret-key-0123456789";
const RUNS = 10_000;

describe("fuzz", () => {
  it(`answers ${RUNS} generated requests within the contract`, { timeout: 120_000 }, async () => {
    const clients = memoryStore<Client>();
    const accounts = memoryStore<AwsAccount>();
    let outbound = 0;
    const { app } = createTestApp({
      store: accounts,
      clients,
      // Every call out (multipart, the back-end probe, STS) must refuse to be redirected; here S3 always redirects.
      fetch: async (input, init) => {
        outbound++;
        expect(init?.redirect, String(input)).toBe("manual");
        return new Response(null, { status: 307, headers: { location: "http://127.0.0.2:1/elsewhere" } });
      },
      credentials: fromEnv({ AWS_ACCESS_KEY_ID: "ASIAFUZZ", AWS_SECRET_ACCESS_KEY: "fuzz-env-secret-0123456789" }),
      adminToken: ADMIN,
      maxBodyBytes: 8192,
      now: () => Date.UTC(2026, 0, 2),
    });
    const admin = { authorization: `Bearer ${ADMIN}` };
    const put = (path: string, body: unknown) =>
      app.request(path, { method: "PUT", headers: { ...admin, "content-type": "application/json" }, body: JSON.stringify(body) });
    // acc trusts its clients (single-tenant), so its URLs are judged by signpost's own policy checks; aws does not,
    // and its S3 (redirecting, above) can never be shown to refuse unsigned headers, so clients get no upload URL there.
    const accountBody = (id: string) => ({ region: "us-east-1", "access-key-id": "AKIDFUZZ", "secret-access-key": AWS_SECRET, ...(id === "acc" ? { host: "127.0.0.1:9000", "path-style": true, "single-tenant": true } : {}) });
    for (const id of ["acc", "aws"]) await put(`/AwsAccount/${id}`, accountBody(id));
    // A client with a narrow policy (the generated paths never name it, so it stays as made): only downloads and uploads under users/alice/ in acc/uploads, at most 600 s.
    const created = await put("/Client/alice", {
      policy: { operations: ["upload", "download"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["users/{client}/"], "max-expiration": 600 },
    });
    const alice = (await created.json()).secret as string;
    // A client manager with the same template as its peer bob: users/{client}/ is users/mgr/ for it, users/bob/ for bob.
    const team: Policy = { operations: ["manage-clients", "upload", "download"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["users/{client}/"] };
    const mgr = (await (await put("/Client/mgr", { policy: team })).json()).secret as string;
    await put("/Client/bob", { policy: team });
    const mgrPolicy = effectivePolicy(team, "mgr");
    const secrets = [AWS_SECRET, ADMIN, alice, mgr, "fuzz-env-secret-0123456789"];

    const segment = fc.oneof(
      fc.constantFrom("acc", "aws", "bob", "uploads", "users", "..", ".", "", "%2e%2e", "%2F", "%00", "%ZZ", "%E2%28", "a b", "+", "__proto__", "constructor", "$rotate-secret"),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
      fc.string({ unit: "grapheme", maxLength: 8 }).map(encodeURIComponent),
      fc.constant("x".repeat(1100)),
    );
    const path = fc.oneof(
      fc.tuple(fc.constantFrom("acc", "aws", "nope", "a_b"), fc.constantFrom("uploads", "b-1", "Bad", "a..b"), fc.array(segment, { maxLength: 5 }))
        .map(([account, bucket, key]) => `/aws/storage/${account}/${bucket}${key.length ? `/${key.join("/")}` : ""}`),
      { arbitrary: fc.constantFrom("/aws/storage/acc/uploads/users/alice/a.txt", "/aws/storage/acc/uploads/users/bob/a.txt", "/aws/storage/acc/uploads", "/aws/storage/aws/uploads/users/alice/x"), weight: 4 },
      // the endpoints that only sign (the ones that call S3 itself are proven against RGW in the e2e suite)
      { arbitrary: fc.constantFrom("/aws/storage/acc/uploads/$post-policy", "/aws/storage/acc/uploads/$presign-parts", "/aws/storage/acc/other/$post-policy"), weight: 2 },
      fc.tuple(fc.constantFrom("AwsAccount", "Client"), fc.option(segment, { nil: undefined })).map(([type, id]) => `/${type}${id === undefined ? "" : `/${id}`}`),
      { arbitrary: fc.constantFrom("/Client/bob/$rotate-secret", "/Client/bob", "/Client/mgr-worker", "/Client/mgr-worker/$rotate-secret"), weight: 3 },
      fc.constantFrom("/health", "/", "/nowhere"),
      fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join("/")}`),
    );
    const query = fc.oneof(
      fc.constant(""),
      fc.constantFrom("?expiration=60", "?expiration=600", "?expiration=601", "?expiration=604800", "?expiration=0", "?expiration=-1", "?expiration=1e3", "?expiration=", "?expiration=1&expiration=2", "?expiration=99999999999999999999"),
      fc.string({ maxLength: 10 }).map((value) => `?expiration=${encodeURIComponent(value)}`),
    );
    const jsonValue = fc.jsonValue({ maxDepth: 3 });
    // Policies a manager might try to hand out: its own template, its folder, wider ones.
    const managerBody = fc.record({
        policy: fc.record({
          operations: fc.subarray(["upload", "download", "delete", "manage-clients"]),
          accounts: fc.constantFrom(["acc"], ["acc"], ["*"], ["aws"]),
          buckets: fc.constantFrom(["uploads"], ["uploads"], ["*"]),
          prefixes: fc.constantFrom(["users/{client}/"], ["users/mgr/"], ["users/mgr/x/"], ["users/"], ["users/{client}"], ["users/mgr/{client}/"]),
          "max-expiration": fc.constantFrom(60, 604800),
        }, { requiredKeys: ["operations", "accounts", "buckets"] }),
      }).map((v) => JSON.stringify(v));
    const body = fc.oneof(
      fc.record({
        filename: fc.constantFrom("users/alice/big.bin", "users/bob/big.bin", "../x"),
        prefix: fc.constantFrom("users/alice/", "users/", "users/alice/../"),
        "upload-id": fc.constantFrom("2~abc", "", "x".repeat(2000)),
        parts: fc.oneof(fc.array(fc.integer({ min: -2, max: 10_001 }), { maxLength: 4 }), jsonValue),
        "content-type": fc.constantFrom("image/png", "", "text/html\r\nx: y"),
        "max-size": fc.oneof(fc.integer(), fc.constant(1.5)),
        "min-size": fc.integer({ min: -1, max: 10 }),
      }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.constant(undefined),
      fc.record({ filename: fc.oneof(fc.constantFrom("users/alice/ok.txt", "users/bob/x", "../x", "a/./b", "", "users/alice/\u0000", "users/alice/" + "é".repeat(600)), fc.string(), jsonValue) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.record({ region: fc.oneof(fc.constant("us-east-1"), fc.string()), host: fc.oneof(fc.constant("127.0.0.1:9000"), fc.string()), "path-style": fc.oneof(fc.boolean(), jsonValue), "access-key-id": fc.constantFrom("AKIDX", "A/B"), "secret-access-key": fc.constant(AWS_SECRET), "role-arn": fc.constant(undefined) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.record({ policy: fc.record({ operations: fc.array(fc.constantFrom("upload", "download", "delete", "manage-accounts", "manage-clients", "root")), accounts: fc.constant(["*"]), prefixes: fc.array(fc.string(), { maxLength: 2 }) }, { requiredKeys: [] }) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      managerBody,
      jsonValue.map((v) => JSON.stringify(v)),
      fc.constantFrom('{"__proto__":{"admin":true},"region":"us-east-1"}', "{", "filename: users/alice/y.txt", "a: &a [x]\nb: *a", "x: [[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]", `region: us-east-1\nsecret-access-key: "${AWS_SECRET}"`),
      fc.string({ maxLength: 200 }),
    );
    const headers = fc.record({
      authorization: fc.constantFrom(`Bearer ${ADMIN}`, `Bearer ${alice}`, `Bearer ${alice}`, `Bearer ${mgr}`, `Bearer ${mgr}`, `Basic ${btoa(`alice:${alice}`)}`, `Basic ${btoa("alice:wrong")}`, "Bearer nope", "", "Basic !!!", `Bearer ${ADMIN} extra`),
      "content-type": fc.constantFrom("application/json", "text/yaml", "application/x-yaml", "text/plain", "", "application/json; charset=latin1"),
      accept: fc.constantFrom("application/json", "text/yaml", "*/*", ""),
    });
    const anyRequest = fc.record({ method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"), path, query, body, headers });
    // Requests that could succeed, so the invariants below are met often: alice asking for URLs, the manager at work.
    const aliceRequest = fc.record({
      method: fc.constantFrom("GET", "POST", "DELETE"),
      path: fc.oneof(
        fc.constantFrom("/aws/storage/acc/uploads/users/alice/a.txt", "/aws/storage/acc/uploads", "/aws/storage/acc/uploads/$post-policy", "/aws/storage/acc/uploads/$presign-parts", "/aws/storage/acc/uploads/$create-multipart", "/aws/storage/acc/uploads/$list-parts", "/aws/storage/acc/uploads/users/bob/a.txt", "/aws/storage/aws/uploads/users/alice/a.txt", "/aws/storage/aws/uploads"),
        fc.array(segment, { maxLength: 3 }).map((key) => `/aws/storage/acc/uploads/users/alice/${key.join("/")}`),
      ),
      query,
      body: fc.oneof(body, { arbitrary: fc.constantFrom('{"filename": "users/alice/x.bin"}', '{"filename": "users/alice/x.bin", "upload-id": "2~abc"}', '{"filename": "users/bob/x.bin", "upload-id": "2~abc"}'), weight: 3 }),
      headers: fc.record({ authorization: fc.constantFrom(`Bearer ${alice}`, `Basic ${btoa(`alice:${alice}`)}`), "content-type": fc.constant("application/json"), accept: fc.constant("") }),
    });
    const managerRequest = fc.record({
      method: fc.constantFrom("GET", "PUT", "DELETE", "POST"),
      path: fc.constantFrom("/Client/bob", "/Client/bob/$rotate-secret", "/Client/mgr-worker", "/Client/mgr-worker/$rotate-secret", "/Client/someone", "/Client"),
      query: fc.constant(""),
      body: managerBody,
      headers: fc.record({ authorization: fc.constant(`Bearer ${mgr}`), "content-type": fc.constant("application/json"), accept: fc.constant("") }),
    });
    // ... and alice's multipart calls, which signpost makes itself (the injected S3 answers each with a redirect).
    const s3Request = fc.record({
      method: fc.constant("POST"),
      path: fc.constantFrom("/aws/storage/acc/uploads/$create-multipart", "/aws/storage/acc/uploads/$list-parts", "/aws/storage/acc/uploads/$abort-multipart"),
      query: fc.constant(""),
      body: fc.constantFrom('{"filename": "users/alice/x.bin"}', '{"filename": "users/alice/x.bin", "upload-id": "2~abc"}'),
      headers: fc.record({ authorization: fc.constant(`Bearer ${alice}`), "content-type": fc.constant("application/json"), accept: fc.constant("") }),
    });
    const request = fc.oneof({ arbitrary: anyRequest, weight: 20 }, { arbitrary: aliceRequest, weight: 5 }, { arbitrary: managerRequest, weight: 5 }, { arbitrary: s3Request, weight: 1 });

    let urls = 0;
    let managed = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path, query, body, headers }) => {
        const init: RequestInit = { method, headers: Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== "")) };
        // The generated admin requests may delete or replace the accounts: put them back, so that most requests test something.
        for (const id of ["acc", "aws"]) {
          const stored = await accounts.get(id);
          if (!stored || stored.host !== accountBody(id).host || stored["single-tenant"] !== accountBody(id)["single-tenant"]) await put(`/AwsAccount/${id}`, accountBody(id));
        }
        const target = /^\/Client\/([A-Za-z0-9.-]+)/.exec(path)?.[1]; // ids need no decoding
        const before = target === undefined ? null : await clients.get(target);
        if (body !== undefined && method !== "GET" && method !== "HEAD") init.body = body;
        let response: Response;
        try {
          response = await app.request(`${path}${query}`, init);
        } catch (error) {
          // A URL the platform itself cannot parse never reaches the app; nothing else may throw.
          if (error instanceof TypeError && /URL|Invalid/i.test(String(error))) return;
          throw error;
        }
        const text = await response.text();
        // 502 only for S3 calls signpost makes itself, which here always answer a redirect it must not follow.
        if (response.status === 502) expect(text).toMatch(/"S3 \w+: 127\.0\.0\.1:9000 answered HTTP 307 \(a redirect, which signpost does not follow/);
        else expect(response.status, text).toBeLessThan(500);
        // A manager changes only clients that held no more than it does (its peer bob, as made, holds users/bob/),
        // and whatever it leaves there is within its own policy too: it never widens a grant.
        const within = (client: Client | null) => !client || policyWithin(effectivePolicy(client.policy, client.id), mgrPolicy);
        if (headers.authorization === `Bearer ${mgr}` && target !== undefined && response.status < 300 && method !== "GET") {
          managed++;
          expect(within(before), JSON.stringify(before)).toBe(true);
          expect(within(await clients.get(target)), text).toBe(true);
        }
        if (method === "HEAD" || response.status === 204) return;
        const yaml = /yaml/.test(response.headers.get("content-type") ?? "");
        if (yaml) {
          if (response.status >= 400) expect(text).toMatch(/^resourceType: OperationOutcome\n/);
        } else {
          const json = JSON.parse(text);
          if (response.status >= 400) {
            expect(json.resourceType).toBe("OperationOutcome");
            expect(json.issue[0].diagnostics).toEqual(expect.any(String));
          }
          const calledAsAlice = headers.authorization.includes(alice) || headers.authorization === `Basic ${btoa(`alice:${alice}`)}`;
          // Every URL or form handed to alice stays inside her policy.
          const signed = [json.url, response.headers.get("location"), ...(Array.isArray(json.parts) ? json.parts.map((p: { url?: string }) => p.url) : [])]
            .filter((url): url is string => typeof url === "string" && url.includes("X-Amz-Signature="));
          if (calledAsAlice && (signed.length > 0 || json.fields)) {
            urls++;
            expect(path.startsWith("/aws/storage/acc/uploads")).toBe(true); // account acc, bucket uploads only
            expect(["GET", "POST"]).toContain(method);
            for (const href of signed) {
              const url = new URL(href);
              expect(url.pathname).toMatch(/^(\/uploads)?\/users\/alice\//); // path-style or virtual-hosted
              expect(Number(url.searchParams.get("X-Amz-Expires"))).toBeLessThanOrEqual(600);
            }
            if (json.fields) {
              expect(json.fields.key).toMatch(/^users\/alice\//);
              expect(Date.parse(json["expires-at"]) - Date.UTC(2026, 0, 2)).toBeLessThanOrEqual(600_000);
            }
          }
        }
        for (const secret of secrets) expect(text).not.toContain(secret);
      }),
      { numRuns: RUNS, seed: 20261127 },
    );
    console.log(`fuzz: ${urls} URLs for alice, ${managed} changes by the manager, ${outbound} calls out`);
    expect(urls).toBeGreaterThan(10); // the policy check above really ran
    expect(managed).toBeGreaterThan(10); // and so did the manager's
    expect(outbound).toBeGreaterThan(10); // and calls out were made
  });
});
