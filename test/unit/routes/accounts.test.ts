// /AwsAccount, in process: CRUD and its input rules, PATCH, what account managers may do, records that do not
// read back.
import { describe, expect, it } from "vitest";
import type { AwsAccount } from "../../../src/domain/account.ts";
import { createPresigner } from "../../../src/aws/signer.ts";
import { cachedStore } from "../../../src/store/cache.ts";
import { memoryStore } from "../../../src/store/memory.ts";
import { nodeSha256 } from "../../../src/runtime/node-crypto.ts";
import { ADMIN_TOKEN as TOKEN, aliasBomb, appRequests, createTestApp, diagnostics, expectOutcome, KEYS, NOW, SAMPLE_ACCOUNT as account, SAMPLE_SECRET as SECRET } from "../../app.ts";
import type { Client } from "../../../src/domain/client.ts";
import type { RoleCredentials } from "../../../src/domain/roles.ts";

describe("AwsAccount", () => {
  it("creates (201), replaces (200), reads, lists and deletes, never showing the secret", async () => {
    const { call, json } = appRequests();
    const created = await json("PUT", "/AwsAccount/my-aws", account);
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/AwsAccount/my-aws/_history/1");
    const body = await created.json();
    expect(body).toEqual({
      resourceType: "AwsAccount",
      id: "my-aws",
      region: "us-east-1",
      "access-key-id": "AKIAIOSFODNN7EXAMPLE",
      "path-style": false,
      "use-ssl": true,
      meta: { versionId: "1", lastUpdated: new Date(NOW).toISOString() },
    });

    // A PUT that leaves the keys out would switch the account to the default credentials: refused (PATCH is for that).
    const keyless = await json("PUT", "/AwsAccount/my-aws", { region: "eu-west-1" });
    expect(keyless.status).toBe(400);
    expect((await keyless.json()).issue[0].diagnostics).toMatch(/would sign with the default credentials instead of its keys/);
    const replaced = await json("PUT", "/AwsAccount/my-aws", { region: "eu-west-1", host: "S3.Example.com:9000", "path-style": true, "use-ssl": false, "access-key-id": "AKIDREPLACED", "secret-access-key": "replaced-secret" });
    expect(replaced.status).toBe(200);
    const second = await replaced.json();
    expect(second).toMatchObject({ region: "eu-west-1", host: "s3.example.com:9000", "path-style": true, "use-ssl": false, "access-key-id": "AKIDREPLACED", meta: { versionId: "2" } });
    const again = await (await json("PUT", "/AwsAccount/my-aws", { region: "eu-west-1", "access-key-id": "AKIDREPLACED", "secret-access-key": "replaced-secret" })).json();
    expect(again).not.toHaveProperty("host"); // replace, not merge
    expect(again.meta.versionId).toBe("3");

    const read = await call("GET", "/AwsAccount/my-aws");
    expect(await read.json()).toEqual(again);

    await json("PUT", "/AwsAccount/other", account);
    const list = await (await call("GET", "/AwsAccount")).json();
    expect(list).toMatchObject({ resourceType: "Bundle", type: "searchset", total: 2 });
    expect(list.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(["my-aws", "other"]);

    const deleted = await call("DELETE", "/AwsAccount/other");
    expect(deleted.status).toBe(200);
    expect((await deleted.json()).id).toBe("other");
    await expectOutcome(await call("DELETE", "/AwsAccount/other"), 404, /AwsAccount\/other not found/);
    await expectOutcome(await call("GET", "/AwsAccount/other"), 404, /not found/);
  });

  it("never returns the secret in any answer, JSON or YAML", async () => {
    const { call, json } = appRequests();
    const answers = [await json("PUT", "/AwsAccount/a", account), await json("PUT", "/AwsAccount/a", account)];
    for (const accept of ["application/json", "text/yaml"]) {
      answers.push(await call("GET", "/AwsAccount/a", { headers: { accept } }), await call("GET", "/AwsAccount", { headers: { accept } }));
    }
    answers.push(await call("DELETE", "/AwsAccount/a"));
    for (const answer of answers) {
      expect(answer.status).toBeLessThan(300);
      expect(await answer.text()).not.toContain(SECRET);
    }
  });

  it("takes YAML bodies in every YAML media type and answers YAML when asked", async () => {
    const { call } = appRequests();
    const yaml = `resourceType: AwsAccount\nid: y\nregion: us-east-1\naccess-key-id: AKIAIOSFODNN7EXAMPLE\nsecret-access-key: ${SECRET}\npath-style: true\nmeta:\n  versionId: "7"\n`;
    for (const type of ["text/yaml", "application/yaml", "application/x-yaml", "text/yaml; charset=utf-8"]) {
      const response = await call("PUT", "/AwsAccount/y", { body: yaml, type, headers: { accept: "text/yaml" } });
      expect(response.status).toBeLessThan(300);
      expect(response.headers.get("content-type")).toMatch(/^text\/yaml/);
      const text = await response.text();
      expect(text).toContain("path-style: true");
      expect(text).toContain("resourceType: AwsAccount");
    }
    const error = await call("GET", "/AwsAccount/missing", { headers: { accept: "application/yaml" } });
    expect(error.status).toBe(404);
    expect(await error.text()).toMatch(/^resourceType: OperationOutcome/);
  });

  it.each([
    ["a missing region", { "path-style": true }, /region is required/],
    ["a non-string region", { region: 5 }, /region must be a string/],
    ["a region with a slash", { region: "us/east" }, /region must be lowercase/],
    ["an access key without secret", { region: "us-east-1", "access-key-id": "AK" }, /both or neither/],
    ["a secret without access key", { region: "us-east-1", "secret-access-key": "s" }, /both or neither/],
    ["an access key with a slash", { region: "us-east-1", "access-key-id": "A/K", "secret-access-key": "s" }, /access-key-id must be/],
    ["a secret with a newline", { region: "us-east-1", "access-key-id": "AK", "secret-access-key": "a\nb" }, /secret-access-key must be/],
    ["a host with a scheme", { region: "us-east-1", host: "http://s3.example.com" }, /host must be host\[:port\]/],
    ["a host with a path", { region: "us-east-1", host: "s3.example.com/x" }, /host must be/],
    ["a host with port 0", { region: "us-east-1", host: "s3.example.com:0" }, /host must be/],
    ["a host with port 70000", { region: "us-east-1", host: "s3.example.com:70000" }, /host must be/],
    ["a host with user info", { region: "us-east-1", host: "u:p@s3.example.com" }, /host must be/],
    ["a numeric host", { region: "us-east-1", host: 9000 }, /host must be a string/],
    ["path-style as a string", { region: "us-east-1", "path-style": "true" }, /path-style must be true or false/],
    ["use-ssl as a number", { region: "us-east-1", "use-ssl": 0 }, /use-ssl must be true or false/],
    ["an unknown field", { region: "us-east-1", bucket: "b" }, /unknown field: "bucket"/],
    ["__proto__", JSON.parse('{"region":"us-east-1","__proto__":{"admin":true}}'), /unknown field: "__proto__"/],
    ["another resourceType", { region: "us-east-1", resourceType: "Patient" }, /resourceType must be AwsAccount/],
    ["a different id", { region: "us-east-1", id: "other" }, /id in the body must match/],
    ["meta that is not an object", { region: "us-east-1", meta: "x" }, /meta must be an object/],
    ["an array", [{ region: "us-east-1" }], /body must be an object/],
    ["null", null, /body must be an object/],
  ])("refuses %s with 400 and stores nothing", async (_, body, pattern) => {
    const { json, store } = appRequests();
    const response = await json("PUT", "/AwsAccount/acc", body);
    const outcome = await expectOutcome(response, 400, pattern);
    expect(outcome.issue[0].code).toBe("invalid");
    expect(await store.get("acc")).toBeNull();
  });

  it("keeps the stored account when a replacement is invalid", async () => {
    const { json, call } = appRequests();
    await json("PUT", "/AwsAccount/acc", account);
    await expectOutcome(await json("PUT", "/AwsAccount/acc", { region: 1 }), 400, /region/);
    const stored = await (await call("GET", "/AwsAccount/acc")).json();
    expect(stored).toMatchObject({ "access-key-id": account["access-key-id"], meta: { versionId: "1" } });
  });

  it.each(["a_b", "x".repeat(65), "a%2Fb", "%E2%9C%93"])("refuses the id %s with 400", async (id) => {
    const { json, call } = appRequests();
    await expectOutcome(await json("PUT", `/AwsAccount/${id}`, account), 400, /id must be 1 to 64 characters/);
    await expectOutcome(await call("GET", `/AwsAccount/${id}`), 400, /id must be/);
    await expectOutcome(await call("DELETE", `/AwsAccount/${id}`), 400, /id must be/);
  });

  it("accepts ids of 64 characters with dots and dashes", async () => {
    const { json } = appRequests();
    const id = `a.b-C9${"x".repeat(58)}`;
    expect((await json("PUT", `/AwsAccount/${id}`, account)).status).toBe(201);
  });

  it.each([
    ["text/plain", "region: us-east-1", 415, /unsupported content type "text\/plain"/],
    ["application/x-www-form-urlencoded", "region=us-east-1", 415, /unsupported content type/],
    ["application/json; charset=latin1", '{"region":"us-east-1"}', 415, /unsupported charset/],
    ["application/json", "{region", 400, /not valid JSON/],
    ["text/yaml", "region: [unclosed", 400, /not valid YAML/],
    ["text/yaml", "region: a\nregion: b\n", 400, /not valid YAML/],
    ["application/json", "", 400, /body is empty/],
    ["text/yaml", aliasBomb(30), 400, /not valid YAML: .*alias/i],
    ["text/yaml", `${"[".repeat(40)}${"]".repeat(40)}`, 400, /not valid YAML/],
  ])("refuses a %s body %#", async (type, body, status, pattern) => {
    const { call } = appRequests();
    await expectOutcome(await call("PUT", "/AwsAccount/acc", { body, type }), status, pattern);
  });

  it("refuses a body without content type with 415", async () => {
    const { app } = appRequests();
    const response = await app.request("/AwsAccount/acc", { method: "PUT", body: new Blob(['{"region":"us-east-1"}']), headers: { authorization: `Bearer ${TOKEN}` } });
    await expectOutcome(response, 415, /unsupported content type "\(none\)"/);
  });

  it("refuses bodies over the limit with 413, by Content-Length and by what arrives", async () => {
    const { call, app, store } = appRequests();
    const big = JSON.stringify({ region: "us-east-1", host: "a".repeat(5000) });
    await expectOutcome(await call("PUT", "/AwsAccount/acc", { body: big }), 413, /larger than 4096 bytes/);
    // A streamed body with no Content-Length is counted as it arrives.
    let pulled = 0;
    const streamed = () => new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new TextEncoder().encode(" ".repeat(512)));
        if (pulled > 1000) controller.close();
      },
    });
    const response = await app.request("/AwsAccount/acc", {
      method: "PUT",
      body: streamed(),
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    await expectOutcome(response, 413, /larger than/);
    expect(pulled).toBeLessThan(20);
    // A body read whole for its Content-Length is measured again: in process nothing frames it by that length.
    const understated = await app.request("/AwsAccount/acc", {
      method: "PUT",
      body: big,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "content-length": "10" },
    });
    await expectOutcome(understated, 413, /larger than 4096 bytes/);
    // With a Transfer-Encoding beside it, a Content-Length frames nothing (workerd passes both on): counted as it arrives.
    pulled = 0;
    const chunkedToo = await app.request("/AwsAccount/acc", {
      method: "PUT",
      body: streamed(),
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "content-length": "22", "transfer-encoding": "chunked" },
      duplex: "half",
    } as RequestInit);
    await expectOutcome(chunkedToo, 413, /larger than/);
    expect(pulled).toBeLessThan(20);
    expect(await store.get("acc")).toBeNull();
  });

  it("refuses a body that is not UTF-8", async () => {
    const { app } = appRequests();
    const response = await app.request("/AwsAccount/acc", {
      method: "PUT",
      body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    });
    await expectOutcome(response, 400, /not valid UTF-8/);
  });

  it("answers unknown methods with 405 and Allow", async () => {
    const { call } = appRequests();
    const purge = await call("PURGE", "/AwsAccount/acc");
    await expectOutcome(purge, 405, /PURGE is not allowed/);
    expect(purge.headers.get("allow")).toBe("GET, PUT, PATCH, DELETE");
    const post = await call("POST", "/AwsAccount");
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
  });

  it("answers unknown routes with 404 OperationOutcome", async () => {
    const { call } = appRequests();
    const body = await expectOutcome(await call("GET", "/Patient/1"), 404, /no route for GET \/Patient\/1/);
    expect(body.issue[0].code).toBe("not-found");
  });
});

describe("PATCH (JSON Merge Patch)", () => {
  it("changes an account's fields and keeps its secret; null removes a field", async () => {
    const { call, accounts } = createTestApp();
    await call({ method: "PUT", path: "/AwsAccount/acc", body: { region: "us-east-1", host: "minio.example.com", "path-style": true, ...KEYS } });
    const sealed = (await accounts.get("acc"))!["secret-access-key"];
    const patched = await call({ method: "PATCH", path: "/AwsAccount/acc", body: { host: "minio2.example.com:9000", "use-ssl": false }, headers: { "content-type": "application/merge-patch+json" } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json).toMatchObject({ host: "minio2.example.com:9000", "use-ssl": false, "path-style": true, "access-key-id": KEYS["access-key-id"], meta: { versionId: "2" } });
    expect((await accounts.get("acc"))!["secret-access-key"]).toBe(sealed);
    // Still signs with the same secret: the URL is the one an independent signer makes with it.
    const url = (await call({ method: "GET", path: "/aws/storage/acc/b-1/k" })).json.url;
    const reference = await createPresigner(nodeSha256).presign({
      method: "GET", protocol: "http:", host: "minio2.example.com:9000", path: "/b-1/k", region: "us-east-1",
      credentials: { accessKeyId: KEYS["access-key-id"], secretAccessKey: KEYS["secret-access-key"] }, expiresIn: 86400, date: new Date(NOW),
    });
    expect(url).toBe(reference);
    expect((await call({ method: "PATCH", path: "/AwsAccount/acc", body: { host: null } })).json).not.toHaveProperty("host");
  });

  it("needs the secret with a new key id, drops both with access-key-id: null, and refuses what PUT refuses", async () => {
    const { call, accounts } = createTestApp();
    await call({ method: "PUT", path: "/AwsAccount/acc", body: { region: "us-east-1", ...KEYS } });
    const newId = await call({ method: "PATCH", path: "/AwsAccount/acc", body: { "access-key-id": "AKIDOTHER" } });
    expect(newId.status).toBe(400);
    expect(diagnostics(newId)).toMatch(/a new access-key-id needs its secret-access-key/);
    expect((await call({ method: "PATCH", path: "/AwsAccount/acc", body: { "access-key-id": "AKIDOTHER", "secret-access-key": "other-secret-0123" } })).status).toBe(200);
    expect((await call({ method: "PATCH", path: "/AwsAccount/acc", body: { region: "Not A Region" } })).status).toBe(400);
    expect((await call({ method: "PATCH", path: "/AwsAccount/acc", body: JSON.parse('{"__proto__": {"x": 1}}') })).status).toBe(400);
    expect((await call({ method: "PATCH", path: "/AwsAccount/acc", body: ["not", "an", "object"] })).status).toBe(400);
    expect((await call({ method: "PATCH", path: "/AwsAccount/missing", body: { region: "us-east-1" } })).status).toBe(404);
    const dropped = await call({ method: "PATCH", path: "/AwsAccount/acc", body: { "access-key-id": null } });
    expect(dropped.status).toBe(200);
    expect(dropped.json).not.toHaveProperty("access-key-id");
    expect(await accounts.get("acc")).not.toHaveProperty("secret-access-key");
  });

  it("changes a client's policy and description and keeps its secret", async () => {
    const { call } = createTestApp();
    const secret = (await call({ method: "PUT", path: "/Client/app", body: { policy: { operations: ["download"] } } })).json.secret;
    const patched = await call({ method: "PATCH", path: "/Client/app", body: { description: "the app", policy: { operations: ["download", "upload"] } } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json).toMatchObject({ description: "the app", policy: { operations: ["download", "upload"] }, meta: { versionId: "2" } });
    expect(patched.json.secret).toBeUndefined();
    expect((await call({ method: "GET", path: "/AwsAccount", headers: {}, auth: `Bearer ${secret}` })).status).toBe(403); // authenticated: the secret still works
    expect((await call({ method: "PATCH", path: "/Client/app", body: { secret: "mine" } })).status).toBe(400);
    expect((await call({ method: "PATCH", path: "/Client/app", body: { policy: { prefixes: ["{client}"] } } })).status).toBe(400);
  });
});

describe("account managers (issue 11, 3)", () => {
  async function withAccounts() {
    const context = createTestApp();
    const { call, admin } = context;
    expect((await call({ method: "PUT", path: "/AwsAccount/sandbox", body: { region: "us-east-1", ...KEYS } })).status).toBe(201);
    expect((await call({ method: "PUT", path: "/AwsAccount/prod", body: { region: "eu-west-1", ...KEYS, "role-arn": "arn:aws:iam::111122223333:role/prod", "external-id": "prod-external-id" } })).status).toBe(201);
    return context;
  }

  it("see, read, replace and delete only the accounts their policy names", async () => {
    const { call, createClient } = await withAccounts();
    const manager = await createClient("ops", { operations: ["manage-accounts"], accounts: ["sandbox"] });
    const list = await call({ method: "GET", path: "/AwsAccount", auth: manager });
    expect(list.json.entry.map((entry: { resource: { id: string } }) => entry.resource.id)).toEqual(["sandbox"]);
    expect(list.json.total).toBe(1);
    expect((await call({ method: "GET", path: "/AwsAccount/sandbox", auth: manager })).status).toBe(200);
    for (const [method, body] of [["GET", undefined], ["PUT", { region: "us-east-1", host: "evil.example", ...KEYS }], ["DELETE", undefined]] as const) {
      const response = await call({ method, path: "/AwsAccount/prod", auth: manager, body });
      expect(response.status, `${method} ${response.text}`).toBe(403);
      expect(response.json.issue[0].diagnostics).toBe("this client may not use AwsAccount/prod");
    }
    expect((await call({ method: "PUT", path: "/AwsAccount/new", auth: manager, body: { region: "us-east-1", ...KEYS } })).status).toBe(403);
    expect((await call({ method: "PUT", path: "/AwsAccount/sandbox", auth: manager, body: { region: "us-east-1", ...KEYS } })).status).toBe(200);
  });

  it("need a grant of their own to use signpost's identity or a role, and only the admin trusts every client", async () => {
    const { call, admin, createClient } = await withAccounts();
    const manager = await createClient("ops", { operations: ["manage-accounts"], accounts: ["sandbox"] });
    const noKeys = await call({ method: "PUT", path: "/AwsAccount/sandbox", auth: manager, body: { region: "us-east-1" } });
    expect(noKeys.status).toBe(403);
    expect(noKeys.json.issue[0].diagnostics).toBe("this client may not use default credentials");
    const role = await call({ method: "PUT", path: "/AwsAccount/sandbox", auth: manager, body: { region: "us-east-1", ...KEYS, "role-arn": "arn:aws:iam::111122223333:role/prod" } });
    expect(role.json.issue[0].diagnostics).toBe("this client may not assume role");
    const single = await call({ method: "PUT", path: "/AwsAccount/sandbox", auth: manager, body: { region: "us-east-1", ...KEYS, "single-tenant": true } });
    expect(single.status).toBe(403);
    expect((await call({ method: "PUT", path: "/AwsAccount/sandbox", body: { region: "us-east-1", ...KEYS, "single-tenant": true } })).status).toBe(200);
    const granted = await createClient("platform", { operations: ["manage-accounts", "use-default-credentials", "assume-role"], accounts: ["sandbox"] });
    expect((await call({ method: "PATCH", path: "/AwsAccount/sandbox", auth: manager, body: { "access-key-id": null } })).json.issue[0].diagnostics).toBe("this client may not use default credentials");
    // The admin made it single-tenant: a manager may change it only by taking that away, never by keeping it.
    expect((await call({ method: "PATCH", path: "/AwsAccount/sandbox", auth: granted, body: { "access-key-id": null, "role-arn": "arn:aws:iam::111122223333:role/x" } })).status).toBe(403);
    expect((await call({ method: "PATCH", path: "/AwsAccount/sandbox", auth: granted, body: { "access-key-id": null, "role-arn": "arn:aws:iam::111122223333:role/x", "single-tenant": null } })).status).toBe(200);
  });

  it("may not point an account without keys at a host: signpost's own identity would sign for another bucket there", async () => {
    const { call, admin, createClient } = await withAccounts();
    const manager = await createClient("ops", { operations: ["manage-accounts", "use-default-credentials", "download"], accounts: ["mine"], buckets: ["mine"] });
    const hijack = await call({ method: "PUT", path: "/AwsAccount/mine", auth: manager, body: { region: "us-east-1", host: "payroll-prod.s3.us-east-1.amazonaws.com", "path-style": true } });
    expect(hijack.status).toBe(403);
    expect(hijack.json.issue[0].diagnostics).toMatch(/only the admin may give an account without keys a host/);
    expect((await call({ method: "PUT", path: "/AwsAccount/mine", auth: manager, body: { region: "us-east-1" } })).status).toBe(201);
    expect((await call({ method: "PATCH", path: "/AwsAccount/mine", auth: manager, body: { host: "payroll-prod.s3.us-east-1.amazonaws.com" } })).status).toBe(403);
    expect((await call({ method: "PATCH", path: "/AwsAccount/mine", body: { host: "minio.internal:9000" } })).status).toBe(200);
  });

  it("may not send keys they did not give to another endpoint: a PATCH that keeps them keeps where they sign (a review, 2026-12-01)", async () => {
    const { call, createClient, accounts } = await withAccounts();
    const manager = await createClient("ops", { operations: ["manage-accounts", "download"], accounts: ["sandbox"], buckets: ["photos"] });
    // payroll.s3... path style: every key of bucket photos would be a key photos/... in bucket payroll, signed with the admin's keys.
    for (const patch of [{ host: "payroll.s3.us-east-1.amazonaws.com", "path-style": true }, { host: "payroll.s3.us-east-1.amazonaws.com" }, { "use-ssl": false }, { region: "eu-west-1" }, { "path-style": true }]) {
      const moved = await call({ method: "PATCH", path: "/AwsAccount/sandbox", auth: manager, body: patch });
      expect(moved.status, JSON.stringify(patch)).toBe(403);
      expect(moved.json.issue[0].diagnostics).toMatch(/only the admin may change an account while keeping its keys .*give the keys again/);
    }
    const url = new URL((await call({ method: "GET", path: "/aws/storage/sandbox/photos/salaries.csv", auth: manager })).json.url);
    expect(url.host).toBe("photos.s3.us-east-1.amazonaws.com");
    // A record stored without the fields that have defaults (imported, say) is judged as it reads back.
    await accounts.put("sandbox", (stored) => {
      const { "path-style": _style, "use-ssl": _ssl, ...bare } = stored!;
      return bare as AwsAccount;
    });
    expect((await call({ method: "PATCH", path: "/AwsAccount/sandbox", auth: manager, body: { region: "us-east-1" } })).status).toBe(200);
    // What does not move the keys still patches; with keys of its own a manager may point them anywhere.
    expect((await call({ method: "PATCH", path: "/AwsAccount/sandbox", auth: manager, body: { "path-style": false, "use-ssl": true } })).status).toBe(200);
    expect((await call({ method: "PATCH", path: "/AwsAccount/sandbox", auth: manager, body: { host: "minio.example.com", ...KEYS } })).status).toBe(200);
    expect((await call({ method: "PATCH", path: "/AwsAccount/sandbox", body: { host: "payroll.s3.us-east-1.amazonaws.com", "path-style": true } })).status).toBe(200);
  });

  it("a PATCH merges into the account as stored, not a copy read before: deleted and made anew, its old keys do not come back (a review, 2026-12-01)", async () => {
    const accounts = memoryStore<AwsAccount>();
    const { call } = createTestApp({ accounts: cachedStore(accounts, 60_000) }); // as compose.ts puts it in front
    expect((await call({ method: "PUT", path: "/AwsAccount/acct", body: { region: "us-east-1", host: "old.example:9000", "access-key-id": "AKOLDCOMPROMISED", "secret-access-key": "old-secret-0123456789" } })).status).toBe(201);
    expect((await call({ method: "GET", path: "/aws/storage/acct/bucket-one/k" })).status).toBe(200); // the account is cached
    // Deleted and made anew where this server's cache does not see it (another replica, a missed notification).
    const old = (await accounts.get("acct"))!;
    await accounts.delete("acct");
    await accounts.put("acct", () => ({ resourceType: "AwsAccount", id: "acct", region: "us-east-1", host: "new.example:9000", "path-style": false, "use-ssl": true, meta: old.meta }));
    const patched = await call({ method: "PATCH", path: "/AwsAccount/acct", body: { "path-style": true } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json).toMatchObject({ host: "new.example:9000", "path-style": true });
    expect(patched.json).not.toHaveProperty("access-key-id");
    expect(await accounts.get("acct")).not.toHaveProperty("secret-access-key");
  });

  it("may not change as whom keys they did not give sign: the role, its external-id, session name and lifetime (a review, 2026-12-01)", async () => {
    // A stand-in for STS: the role's temporary credentials name the role they were assumed for.
    const assumed: string[] = [];
    const roles: RoleCredentials = async (stored) => {
      assumed.push(`${stored["role-arn"]} ${stored["external-id"]}`);
      return { accessKeyId: `ASIA-${stored["role-arn"]!.split("/").pop()}`, secretAccessKey: "role-secret", sessionToken: "role-token", expiration: new Date(NOW + 3_600_000) };
    };
    const { call, createClient, putAccount } = createTestApp({ roles });
    await putAccount("partner", { region: "us-east-1", ...KEYS, "role-arn": "arn:aws:iam::444455556666:role/partner-uploads", "external-id": "secret-ext-id" });
    const signer = async (auth: string) => new URL((await call({ method: "GET", path: "/aws/storage/partner/prod-data/report.csv", auth })).json.url).searchParams.get("X-Amz-Credential")!.split("/")[0];
    const plain = await createClient("ops", { operations: ["manage-accounts", "download"], accounts: ["partner"] });
    const roleManager = await createClient("roles", { operations: ["manage-accounts", "assume-role", "download"], accounts: ["partner"] });
    expect(await signer(plain)).toBe("ASIA-partner-uploads");
    // Without assume-role, dropping the role would have the admin's keys sign as themselves, for any bucket they reach.
    const patches: [string, Record<string, unknown>][] = [
      [plain, { "role-arn": null, "external-id": null }],
      [roleManager, { "role-arn": "arn:aws:iam::777788889999:role/other-tenant" }], // with the hidden external-id sent along
      [roleManager, { "external-id": "another-id" }],
      [roleManager, { "role-session-name": "someone-else" }],
      [roleManager, { "duration-seconds": 43200 }],
    ];
    for (const [auth, patch] of patches) {
      const moved = await call({ method: "PATCH", path: "/AwsAccount/partner", auth, body: patch });
      expect(moved.status, JSON.stringify(patch)).toBe(403);
      expect(moved.json.issue[0].diagnostics).toMatch(/only the admin may change an account while keeping its keys .*give the keys again/);
    }
    expect(await signer(plain)).toBe("ASIA-partner-uploads");
    expect(assumed.every((line) => line === "arn:aws:iam::444455556666:role/partner-uploads secret-ext-id")).toBe(true);
    // With keys of its own (and assume-role), a manager may set the role up as it likes.
    expect((await call({ method: "PATCH", path: "/AwsAccount/partner", auth: roleManager, body: { ...KEYS, "role-arn": "arn:aws:iam::777788889999:role/other-tenant", "external-id": null } })).status).toBe(200);
    expect(await signer(plain)).toBe("ASIA-other-tenant");
  });

  it("may not send a hidden external-id anywhere it was not sent: with their own keys, to their own host, to another role (an attack, 2026-12-01)", async () => {
    // A stand-in for STS: what each AssumeRole would send, and from whom, to where.
    const sent: string[] = [];
    const roles: RoleCredentials = async (stored) => {
      sent.push(`${stored["access-key-id"] ?? "default"} ${stored["use-ssl"] ? "https" : "http"}://${stored.host ?? `sts.${stored.region}`} ${stored["role-arn"]} ${stored["external-id"]}`);
      return { accessKeyId: "ASIAROLE", secretAccessKey: "role-secret", sessionToken: "role-token", expiration: new Date(NOW + 3_600_000) };
    };
    const { call, createClient, putAccount } = createTestApp({ roles });
    const ROLE = "arn:aws:iam::444455556666:role/partner-uploads";
    await putAccount("partner", { region: "us-east-1", ...KEYS, "role-arn": ROLE, "external-id": "partner-external-id" });
    await putAccount("keyless", { region: "eu-west-1", "role-arn": ROLE, "external-id": "keyless-external-id" });
    const OWN_KEYS = { "access-key-id": "AKIDMANAGEROWN", "secret-access-key": "manager-own-secret-0123" };
    const manager = await createClient("ops", { operations: ["manage-accounts", "assume-role", "use-default-credentials", "download"], accounts: ["partner", "keyless"] });
    const use = async (id: string) => expect((await call({ method: "GET", path: `/aws/storage/${id}/photos/a.txt`, auth: manager })).status).toBe(200);
    await use("partner");
    await use("keyless");
    const before = [...sent];
    const attacks: [string, Record<string, unknown>][] = [
      ["partner", { host: "127.0.0.1:19999", "use-ssl": false, ...OWN_KEYS }], // to a listener of the manager's
      ["partner", { ...OWN_KEYS }], // as the manager's own identity: the id in its CloudTrail
      ["partner", { "secret-access-key": "a-guess-at-the-secret" }],
      ["partner", { "access-key-id": null, "secret-access-key": null }], // as signpost itself: the confused deputy the id is there to stop
      ["keyless", { host: "127.0.0.1:19999", "use-ssl": false, ...OWN_KEYS }],
      ["keyless", { ...OWN_KEYS }],
      ["keyless", { "role-arn": "arn:aws:iam::999999999999:role/attacker" }], // to the attacker's role, as signpost
      ["keyless", { region: "us-west-2" }],
      ["keyless", { "role-session-name": "chosen-by-ops" }], // the session the role's owner sees, and conditions test
      ["keyless", { "duration-seconds": 43200 }],
    ];
    for (const [id, patch] of attacks) {
      const moved = await call({ method: "PATCH", path: `/AwsAccount/${id}`, auth: manager, body: patch });
      expect(moved.status, `${id} ${JSON.stringify(patch)}: ${moved.text}`).toBe(403);
      expect(moved.json.issue[0].diagnostics).toMatch(/^only the admin may change who assumes an account's role, or where, while keeping its external-id \(.+ changed\): give external-id again/);
      await use(id);
    }
    expect(sent.slice(before.length).every((line) => line === before[0] || line === before[1])).toBe(true);
    expect(sent.filter((line) => !line.endsWith("partner-external-id") && !line.endsWith("keyless-external-id"))).toEqual([]);
    // What sends the id nowhere new still patches; giving the id (or dropping it) makes the role the manager's to set.
    expect((await call({ method: "PATCH", path: "/AwsAccount/keyless", auth: manager, body: { "path-style": true } })).status).toBe(200);
    expect((await call({ method: "PATCH", path: "/AwsAccount/keyless", auth: manager, body: { ...OWN_KEYS, host: "127.0.0.1:19999", "use-ssl": false, "external-id": "manager-chosen-id" } })).status).toBe(200);
    expect((await call({ method: "PATCH", path: "/AwsAccount/partner", auth: manager, body: { ...OWN_KEYS, "role-arn": "arn:aws:iam::999999999999:role/attacker", "external-id": null } })).status).toBe(200);
    expect((await call({ method: "PATCH", path: "/AwsAccount/partner", body: { ...KEYS, "role-arn": ROLE, "external-id": "partner-external-id-2" } })).status).toBe(200);
    expect((await call({ method: "PATCH", path: "/AwsAccount/partner", body: { host: "s3.other.example" } })).status).toBe(200); // the admin may
    await use("partner");
    await use("keyless");
    expect(sent.slice(-2)).toEqual([`AKIDTESTACCOUNT https://s3.other.example ${ROLE} partner-external-id-2`, "AKIDMANAGEROWN http://127.0.0.1:19999 " + ROLE + " manager-chosen-id"]);
  });

  it("cannot confirm a guess at the hidden external-id: giving one while keeping the keys is refused whatever its value (a review, 2026-12-01)", async () => {
    const { call, createClient, putAccount } = createTestApp();
    await putAccount("partner", { region: "us-east-1", ...KEYS, "role-arn": "arn:aws:iam::444455556666:role/partner", "external-id": "acme-2024" });
    const manager = await createClient("ops", { operations: ["manage-accounts", "assume-role"], accounts: ["partner"] });
    const answers = [];
    for (const guess of ["acme-2023", "acme-2024", "acme-2025"]) {
      const tried = await call({ method: "PATCH", path: "/AwsAccount/partner", auth: manager, body: { "external-id": guess } });
      answers.push(`${tried.status} ${tried.json.issue?.[0].diagnostics}`);
    }
    expect(new Set(answers).size).toBe(1); // the right guess answers as the wrong ones do
    expect(answers[0]).toMatch(/^403 only the admin may change an account while keeping its keys \(external-id changed\)/);
    expect((await call({ method: "GET", path: "/AwsAccount/partner" })).json.meta.versionId).toBe("1"); // nothing written
  });

  it("verify only buckets their policy names (it reads them with the account's credentials)", async () => {
    const { call, createClient } = await withAccounts();
    const manager = await createClient("ops", { operations: ["manage-accounts"], accounts: ["sandbox"], buckets: ["mine"] });
    const hidden = await call({ method: "POST", path: "/AwsAccount/sandbox/$verify?bucket=hidden", auth: manager });
    expect(hidden.status).toBe(403);
    expect(hidden.json.issue[0].diagnostics).toBe("this client may not use bucket hidden");
  });

  it("never see an external-id (the admin does)", async () => {
    const { call, admin, createClient } = await withAccounts();
    const manager = await createClient("ops", { operations: ["manage-accounts"], accounts: ["*"] });
    expect((await call({ method: "GET", path: "/AwsAccount/prod" })).json["external-id"]).toBe("prod-external-id");
    for (const path of ["/AwsAccount/prod", "/AwsAccount"]) expect((await call({ method: "GET", path, auth: manager })).text).not.toContain("prod-external-id");
  });
});

describe("records that do not read back (issue 11, 5)", () => {
  it("a stored client without a policy is denied everything, never taken for the admin", async () => {
    const clients = memoryStore<Client>();
    const { call, admin, createClient } = createTestApp({ clients });
    const secret = await createClient("broken", { operations: ["download"] });
    await call({ method: "PUT", path: "/AwsAccount/acc", body: { region: "us-east-1", ...KEYS } });
    for (const policy of [null, undefined, { operations: "all" }]) {
      await clients.put("broken", (stored) => ({ ...stored!, policy: policy as never }));
      for (const [method, path] of [["GET", "/AwsAccount"], ["GET", "/aws/storage/acc/b-1/k"], ["GET", "/Client"]]) {
        const response = await call({ method: method!, path: path!, auth: secret });
        expect(response.status, `${JSON.stringify(policy)} ${path}`).toBe(403);
        expect(response.json.issue[0].diagnostics).toMatch(/^Client\/broken is stored in a form signpost cannot use/);
      }
    }
  });

  it("a client stored without policy.accounts or policy.buckets (imported by hand) is used and shown with their defaults, read after read (a review, 2026-12-01)", async () => {
    const clients = memoryStore<Client>();
    const cache = cachedStore(clients, 60_000); // as compose.ts puts it in front
    const { call, createClient } = createTestApp({ clients: cache });
    const secret = await createClient("legacy", { operations: ["download"] });
    await call({ method: "PUT", path: "/AwsAccount/acc", body: { region: "us-east-1", ...KEYS } });
    await clients.put("legacy", (stored) => ({ ...stored!, policy: { operations: ["download"] } as never }));
    cache.invalidate("legacy");
    for (let read = 0; read < 3; read++) {
      const url = await call({ method: "GET", path: "/aws/storage/acc/photos/a.txt", auth: secret });
      expect(url.status, url.text).toBe(200);
    }
    const policy = { operations: ["download"], accounts: ["*"], buckets: ["*"] };
    expect((await call({ method: "GET", path: "/Client/legacy" })).json.policy).toEqual(policy);
    expect((await call({ method: "GET", path: "/Client" })).json.entry.map(({ resource }: { resource: Client }) => resource.policy)).toEqual([policy]);
    // Managers judge it as it reads back: one held to a bucket does not see it, one allowed every bucket does.
    const narrow = await createClient("narrow", { operations: ["manage-clients", "download"], buckets: ["photos"] });
    const wide = await createClient("wide", { operations: ["manage-clients", "download"] });
    const listed = async (auth: string) => {
      const list = await call({ method: "GET", path: "/Client", auth });
      expect(list.status, list.text).toBe(200);
      return list.json.entry.map(({ resource }: { resource: Client }) => resource.id);
    };
    expect(await listed(narrow)).not.toContain("legacy");
    expect((await call({ method: "GET", path: "/Client/legacy", auth: narrow })).status).toBe(403);
    expect(await listed(wide)).toContain("legacy");
    expect((await call({ method: "GET", path: "/Client/legacy", auth: wide })).json.policy).toEqual(policy);
    expect((await call({ method: "DELETE", path: "/Client/legacy" })).json.policy).toEqual(policy);
  });

  it("a corrupted account gives an error naming it, and the list still shows the others", async () => {
    const accounts = memoryStore<AwsAccount>();
    const { call, admin } = createTestApp({ accounts });
    await call({ method: "PUT", path: "/AwsAccount/good", body: { region: "us-east-1", ...KEYS } });
    await call({ method: "PUT", path: "/AwsAccount/bad", body: { region: "us-east-1", ...KEYS } });
    await accounts.put("bad", (stored) => ({ ...stored!, host: "169.254.169.254", region: 7 as never }));
    const read = await call({ method: "GET", path: "/aws/storage/bad/b-1/k" });
    expect(read.status).toBe(500);
    expect(read.json.issue[0].diagnostics).toMatch(/^AwsAccount\/bad is stored in a form signpost cannot use \(region must be a string\)/);
    const list = await call({ method: "GET", path: "/AwsAccount" });
    expect(list.status).toBe(200);
    expect(list.json.total).toBe(1);
    const [outcome, good] = list.json.entry; // listed by id: bad, good
    expect(good.resource.id).toBe("good");
    expect(outcome).toMatchObject({ search: { mode: "outcome" }, resource: { resourceType: "OperationOutcome" } });
    expect(outcome.resource.issue[0].diagnostics).toMatch(/^AwsAccount\/bad/);
    // An account stored before the host rules tightened is refused when used.
    await accounts.put("bad", (stored) => ({ ...stored!, region: "us-east-1" }));
    expect((await call({ method: "GET", path: "/aws/storage/bad/b-1/k" })).json.issue[0].diagnostics).toMatch(/link-local/);
  });

  it("an account stored without use-ssl or path-style (imported by hand) is used and shown as it reads back: https, for URLs and STS, read after read (an attack, 2026-12-01)", async () => {
    const accounts = memoryStore<AwsAccount>();
    const cache = cachedStore(accounts, 60_000); // as compose.ts puts it in front: one frozen object per read
    const assumedOver: unknown[] = [];
    const roles: RoleCredentials = async (stored) => {
      assumedOver.push(stored["use-ssl"]); // roles.ts sends AssumeRole over https only when this is true
      return { accessKeyId: "ASIAROLE", secretAccessKey: "role-secret", sessionToken: "role-token", expiration: new Date(NOW + 3_600_000) };
    };
    const { call } = createTestApp({ accounts: cache, roles });
    await call({ method: "PUT", path: "/AwsAccount/legacy", body: { region: "us-east-1", host: "s3.example.com", ...KEYS } });
    await call({ method: "PUT", path: "/AwsAccount/legacy-role", body: { region: "us-east-1", host: "s3.example.com", ...KEYS, "role-arn": "arn:aws:iam::111122223333:role/uploads" } });
    for (const id of ["legacy", "legacy-role"]) {
      await accounts.put(id, (stored) => {
        const { "path-style": _style, "use-ssl": _ssl, ...bare } = stored!;
        return bare as AwsAccount;
      });
      cache.invalidate(id);
      expect(await accounts.get(id)).not.toHaveProperty("use-ssl");
    }
    for (const id of ["legacy", "legacy-role"]) {
      for (let read = 0; read < 3; read++) { // the first read checks the record, the next ones take what it kept
        const url = await call({ method: "GET", path: `/aws/storage/${id}/photos/a.txt` });
        expect(url.status, url.text).toBe(200);
        expect(url.json.url).toMatch(/^https:\/\/photos\.s3\.example\.com\/a\.txt\?/);
      }
      expect((await call({ method: "GET", path: `/AwsAccount/${id}` })).json).toMatchObject({ "use-ssl": true, "path-style": false });
    }
    const list = (await call({ method: "GET", path: "/AwsAccount" })).json;
    expect(list.entry.map(({ resource }: { resource: AwsAccount }) => [resource.id, resource["use-ssl"], resource["path-style"]])).toEqual([["legacy", true, false], ["legacy-role", true, false]]);
    expect((await call({ method: "DELETE", path: "/AwsAccount/legacy" })).json).toMatchObject({ id: "legacy", "use-ssl": true, "path-style": false });
    expect(assumedOver).toEqual([true, true, true]); // one AssumeRole a URL here: the stand-in keeps nothing
  });
});
