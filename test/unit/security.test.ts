// Issue 11, in process: what a client may do to its peers and to accounts, records that do not read back, hosts
// signpost will not sign for, and its own calls out (no redirects followed, no unbounded answers). What S3 itself
// enforces (scoped credentials, unsigned headers) is proven against RGW in test/e2e/security.test.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AwsAccount } from "../../src/account.ts";
import { createApp, type LogEntry } from "../../src/app.ts";
import type { Client } from "../../src/clients.ts";
import { fromEnv } from "../../src/credentials/env.ts";
import { nodeSha256 } from "../../src/runtime/node-crypto.ts";
import { createPresigner } from "../../src/signer.ts";
import { cachedStore, MAX_ENTRIES } from "../../src/store/cache.ts";
import { memoryStore } from "../../src/store/memory.ts";
import type { ResourceStore } from "../../src/store/store.ts";
import { checkHost } from "../../src/validate.ts";
import { testSealer } from "../sealer.ts";

const ADMIN = "security-admin-token-0123456789abcdef";
const KEYS = { "access-key-id": "AKIDSECURITY", "secret-access-key": "security-secret-key-0123456789" };

function setup(options: { clients?: ResourceStore<Client>; accounts?: ResourceStore<AwsAccount>; adminToken?: string } = {}) {
  const logs: LogEntry[] = [];
  const accounts = options.accounts ?? memoryStore<AwsAccount>();
  const clients = options.clients ?? memoryStore<Client>();
  const app = createApp({
    store: accounts,
    clients,
    sealer: testSealer,
    credentials: fromEnv({ AWS_ACCESS_KEY_ID: "ASIASIGNPOST", AWS_SECRET_ACCESS_KEY: "signpost-own-identity-secret" }),
    presigner: createPresigner(nodeSha256),
    config: { adminToken: options.adminToken ?? ADMIN },
    log: (entry) => logs.push(entry),
  });
  const call = async (method: string, path: string, auth: string | undefined, body?: unknown) => {
    const response = await app.request(path, {
      method,
      headers: { ...(auth ? { authorization: auth } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, text, json: text ? JSON.parse(text) : undefined };
  };
  const admin = `Bearer ${ADMIN}`;
  const createClient = async (id: string, policy: Record<string, unknown>) => {
    const created = await call("PUT", `/Client/${id}`, admin, { policy });
    expect(created.status, created.text).toBe(201);
    return `Bearer ${created.json.secret}`;
  };
  return { app, logs, call, admin, createClient, accounts, clients };
}

describe("client managers (issue 11, 2)", () => {
  const team = { operations: ["manage-clients", "upload", "download"], accounts: ["acc"], buckets: ["b-1"], prefixes: ["users/{client}/"] };

  it("compare templates filled in for each side: a manager cannot take over or create peers with the same template", async () => {
    const { call, admin, createClient } = setup();
    await call("PUT", "/AwsAccount/acc", admin, { region: "us-east-1", ...KEYS });
    const mgr = await createClient("mgr", team);
    const victim = await createClient("victim", team);
    // users/{client}/ means users/victim/ for the victim, users/mgr/ for the manager: not within.
    expect((await call("POST", "/Client/victim/$rotate-secret", mgr)).status).toBe(403);
    expect((await call("DELETE", "/Client/victim", mgr)).status).toBe(403);
    expect((await call("PUT", "/Client/victim", mgr, { policy: team })).status).toBe(403);
    expect((await call("GET", "/Client/victim", mgr)).status).toBe(403);
    expect((await call("PUT", "/Client/anyone", mgr, { policy: team })).status).toBe(403);
    // The victim's secret still works, and its record is untouched.
    expect((await call("GET", "/aws/storage/acc/b-1/users/victim/x", victim)).status).toBe(200);
    expect((await call("GET", "/Client/victim", admin)).json.meta.versionId).toBe("1");
    // What is within its own folder it may hand out, and the list shows only those.
    const worker = { operations: ["download"], accounts: ["acc"], buckets: ["b-1"], prefixes: ["users/mgr/photos/"] };
    expect((await call("PUT", "/Client/worker", mgr, { policy: worker })).status).toBe(201);
    const listed = (await call("GET", "/Client", mgr)).json.entry.map((entry: { resource: { id: string } }) => entry.resource.id);
    expect(listed.sort()).toEqual(["mgr", "worker"]);
  });

  it("decide on the client as stored at the write, not on an earlier read", async () => {
    // A store whose reads show a harmless client while the record the write sees holds more, as when it changed
    // between the check and the write.
    const inner = memoryStore<Client>();
    const racing: ResourceStore<Client> = { ...inner, get: async (id) => (id === "target" ? null : inner.get(id)) };
    const { call, admin, createClient } = setup({ clients: racing });
    const mgr = await createClient("mgr", { operations: ["manage-clients", "download"], accounts: ["acc"] });
    expect((await call("PUT", "/Client/target", admin, { policy: { operations: ["manage-accounts", "download"] } })).status).toBe(201);
    expect((await call("DELETE", "/Client/target", mgr)).status).toBe(403);
    expect((await call("POST", "/Client/target/$rotate-secret", mgr)).status).toBe(403);
    expect((await call("PUT", "/Client/target", mgr, { policy: { operations: ["download"], accounts: ["acc"] } })).status).toBe(403);
    expect((await inner.get("target"))!.policy.operations).toEqual(["manage-accounts", "download"]);
  });

  it("refuse client ids that read as the admin, and name clients as Client/<id> in the audit log", async () => {
    const { call, admin, logs, createClient } = setup();
    for (const id of ["admin", "Admin", "ADMIN"]) {
      const response = await call("PUT", `/Client/${id}`, admin, { policy: { operations: ["download"] } });
      expect(response.status, id).toBe(400);
      expect(response.json.issue[0].diagnostics).toMatch(/reserved/);
    }
    const app = await createClient("app", { operations: ["download"] });
    expect((await call("GET", "/aws/storage/acc/b-1/k", app)).status).toBe(404); // no such account: refused after the policy check
    await call("PUT", "/AwsAccount/acc", admin, { region: "us-east-1", ...KEYS });
    await call("GET", "/aws/storage/acc/b-1/k", app);
    const whos = logs.filter((entry) => entry.audit).map((entry) => entry.who);
    expect(whos).toEqual(["admin", "admin", "Client/app"]);
  });
});

describe("account managers (issue 11, 3)", () => {
  async function withAccounts() {
    const context = setup();
    const { call, admin } = context;
    expect((await call("PUT", "/AwsAccount/sandbox", admin, { region: "us-east-1", ...KEYS })).status).toBe(201);
    expect((await call("PUT", "/AwsAccount/prod", admin, { region: "eu-west-1", ...KEYS, "role-arn": "arn:aws:iam::111122223333:role/prod", "external-id": "prod-external-id" })).status).toBe(201);
    return context;
  }

  it("see, read, replace and delete only the accounts their policy names", async () => {
    const { call, createClient } = await withAccounts();
    const manager = await createClient("ops", { operations: ["manage-accounts"], accounts: ["sandbox"] });
    const list = await call("GET", "/AwsAccount", manager);
    expect(list.json.entry.map((entry: { resource: { id: string } }) => entry.resource.id)).toEqual(["sandbox"]);
    expect(list.json.total).toBe(1);
    expect((await call("GET", "/AwsAccount/sandbox", manager)).status).toBe(200);
    for (const [method, body] of [["GET", undefined], ["PUT", { region: "us-east-1", host: "evil.example", ...KEYS }], ["DELETE", undefined]] as const) {
      const response = await call(method, "/AwsAccount/prod", manager, body);
      expect(response.status, `${method} ${response.text}`).toBe(403);
      expect(response.json.issue[0].diagnostics).toBe("this client may not use AwsAccount/prod");
    }
    expect((await call("PUT", "/AwsAccount/new", manager, { region: "us-east-1", ...KEYS })).status).toBe(403);
    expect((await call("PUT", "/AwsAccount/sandbox", manager, { region: "us-east-1", ...KEYS })).status).toBe(200);
  });

  it("need a grant of their own to use signpost's identity or a role, and only the admin trusts every client", async () => {
    const { call, admin, createClient } = await withAccounts();
    const manager = await createClient("ops", { operations: ["manage-accounts"], accounts: ["sandbox"] });
    const noKeys = await call("PUT", "/AwsAccount/sandbox", manager, { region: "us-east-1" });
    expect(noKeys.status).toBe(403);
    expect(noKeys.json.issue[0].diagnostics).toBe("this client may not use default credentials");
    const role = await call("PUT", "/AwsAccount/sandbox", manager, { region: "us-east-1", ...KEYS, "role-arn": "arn:aws:iam::111122223333:role/prod" });
    expect(role.json.issue[0].diagnostics).toBe("this client may not assume role");
    const single = await call("PUT", "/AwsAccount/sandbox", manager, { region: "us-east-1", ...KEYS, "single-tenant": true });
    expect(single.status).toBe(403);
    expect((await call("PUT", "/AwsAccount/sandbox", admin, { region: "us-east-1", ...KEYS, "single-tenant": true })).status).toBe(200);
    const granted = await createClient("platform", { operations: ["manage-accounts", "use-default-credentials", "assume-role"], accounts: ["sandbox"] });
    expect((await call("PATCH", "/AwsAccount/sandbox", manager, { "access-key-id": null })).json.issue[0].diagnostics).toBe("this client may not use default credentials");
    // The admin made it single-tenant: a manager may change it only by taking that away, never by keeping it.
    expect((await call("PATCH", "/AwsAccount/sandbox", granted, { "access-key-id": null, "role-arn": "arn:aws:iam::111122223333:role/x" })).status).toBe(403);
    expect((await call("PATCH", "/AwsAccount/sandbox", granted, { "access-key-id": null, "role-arn": "arn:aws:iam::111122223333:role/x", "single-tenant": null })).status).toBe(200);
  });

  it("may not point an account without keys at a host: signpost's own identity would sign for another bucket there", async () => {
    const { call, admin, createClient } = await withAccounts();
    const manager = await createClient("ops", { operations: ["manage-accounts", "use-default-credentials", "download"], accounts: ["mine"], buckets: ["mine"] });
    const hijack = await call("PUT", "/AwsAccount/mine", manager, { region: "us-east-1", host: "payroll-prod.s3.us-east-1.amazonaws.com", "path-style": true });
    expect(hijack.status).toBe(403);
    expect(hijack.json.issue[0].diagnostics).toMatch(/only the admin may give an account without keys a host/);
    expect((await call("PUT", "/AwsAccount/mine", manager, { region: "us-east-1" })).status).toBe(201);
    expect((await call("PATCH", "/AwsAccount/mine", manager, { host: "payroll-prod.s3.us-east-1.amazonaws.com" })).status).toBe(403);
    expect((await call("PATCH", "/AwsAccount/mine", admin, { host: "minio.internal:9000" })).status).toBe(200);
  });

  it("verify only buckets their policy names (it reads them with the account's credentials)", async () => {
    const { call, createClient } = await withAccounts();
    const manager = await createClient("ops", { operations: ["manage-accounts"], accounts: ["sandbox"], buckets: ["mine"] });
    const hidden = await call("POST", "/AwsAccount/sandbox/$verify?bucket=hidden", manager);
    expect(hidden.status).toBe(403);
    expect(hidden.json.issue[0].diagnostics).toBe("this client may not use bucket hidden");
  });

  it("never see an external-id (the admin does)", async () => {
    const { call, admin, createClient } = await withAccounts();
    const manager = await createClient("ops", { operations: ["manage-accounts"], accounts: ["*"] });
    expect((await call("GET", "/AwsAccount/prod", admin)).json["external-id"]).toBe("prod-external-id");
    for (const path of ["/AwsAccount/prod", "/AwsAccount"]) expect((await call("GET", path, manager)).text).not.toContain("prod-external-id");
  });
});

describe("records that do not read back (issue 11, 5)", () => {
  it("a stored client without a policy is denied everything, never taken for the admin", async () => {
    const clients = memoryStore<Client>();
    const { call, admin, createClient } = setup({ clients });
    const secret = await createClient("broken", { operations: ["download"] });
    await call("PUT", "/AwsAccount/acc", admin, { region: "us-east-1", ...KEYS });
    for (const policy of [null, undefined, { operations: "all" }]) {
      await clients.put("broken", (stored) => ({ ...stored!, policy: policy as never }));
      for (const [method, path] of [["GET", "/AwsAccount"], ["GET", "/aws/storage/acc/b-1/k"], ["GET", "/Client"]]) {
        const response = await call(method!, path!, secret);
        expect(response.status, `${JSON.stringify(policy)} ${path}`).toBe(403);
        expect(response.json.issue[0].diagnostics).toMatch(/^Client\/broken is stored in a form signpost cannot use/);
      }
    }
  });

  it("a corrupted account gives an error naming it, and the list still shows the others", async () => {
    const accounts = memoryStore<AwsAccount>();
    const { call, admin } = setup({ accounts });
    await call("PUT", "/AwsAccount/good", admin, { region: "us-east-1", ...KEYS });
    await call("PUT", "/AwsAccount/bad", admin, { region: "us-east-1", ...KEYS });
    await accounts.put("bad", (stored) => ({ ...stored!, host: "169.254.169.254", region: 7 as never }));
    const read = await call("GET", "/aws/storage/bad/b-1/k", admin);
    expect(read.status).toBe(500);
    expect(read.json.issue[0].diagnostics).toMatch(/^AwsAccount\/bad is stored in a form signpost cannot use \(region must be a string\)/);
    const list = await call("GET", "/AwsAccount", admin);
    expect(list.status).toBe(200);
    expect(list.json.total).toBe(1);
    const [outcome, good] = list.json.entry; // listed by id: bad, good
    expect(good.resource.id).toBe("good");
    expect(outcome).toMatchObject({ search: { mode: "outcome" }, resource: { resourceType: "OperationOutcome" } });
    expect(outcome.resource.issue[0].diagnostics).toMatch(/^AwsAccount\/bad/);
    // An account stored before the host rules tightened is refused when used.
    await accounts.put("bad", (stored) => ({ ...stored!, region: "us-east-1" }));
    expect((await call("GET", "/aws/storage/bad/b-1/k", admin)).json.issue[0].diagnostics).toMatch(/link-local/);
  });
});

describe("sealed secrets (issue 11, review)", () => {
  it("a sealed value copied to another account does not open there, even while the first one's is cached", async () => {
    const accounts = memoryStore<AwsAccount>();
    const { call, admin } = setup({ accounts });
    for (const id of ["first", "second"]) await call("PUT", `/AwsAccount/${id}`, admin, { region: "us-east-1", "access-key-id": `AKID${id.toUpperCase()}`, "secret-access-key": `${id}-secret-0123456789` });
    expect((await call("GET", "/aws/storage/first/b-1/k", admin)).status).toBe(200); // opened and kept in memory
    const sealed = (await accounts.get("first"))!["secret-access-key"]!;
    await accounts.put("second", (stored) => ({ ...stored!, "secret-access-key": sealed }));
    const moved = await call("GET", "/aws/storage/second/b-1/k", admin);
    expect(moved.status).toBe(503);
    expect(moved.json.issue[0].diagnostics).toMatch(/moved from another record/);
  });
});

describe("authentication hygiene (issue 11, 5)", () => {
  it("hashes the presented secret whether or not its client exists", async () => {
    const { call, createClient } = setup();
    await createClient("real", { operations: ["download"] });
    const digest = vi.spyOn(crypto.subtle, "digest");
    for (const id of ["real", "unknown"]) {
      digest.mockClear();
      const response = await call("GET", "/Client", `Bearer ${id}~${"A".repeat(43)}`);
      expect(response.status).toBe(401);
      expect(digest, id).toHaveBeenCalledTimes(1);
    }
    digest.mockRestore();
  });

  it("keeps unknown ids apart in the cache: a flood of them does not push out real clients", { timeout: 30_000 }, async () => {
    const inner = memoryStore<Client>();
    let reads = 0;
    const counted: ResourceStore<Client> = { ...inner, get: (id) => (reads++, inner.get(id)) };
    const { call, createClient } = setup({ clients: cachedStore(counted, 60_000) });
    const real = await createClient("real", { operations: ["download"] });
    expect((await call("GET", "/aws/storage/acc/b-1/k", real)).status).toBe(404);
    reads = 0;
    for (let i = 0; i < MAX_ENTRIES; i++) await call("GET", "/Client", `Bearer flood${i}~${"A".repeat(43)}`);
    expect(reads).toBe(MAX_ENTRIES);
    reads = 0;
    expect((await call("GET", "/aws/storage/acc/b-1/k", real)).status).toBe(404);
    expect(reads).toBe(0);
  });

  it("refuses an admin token under 16 characters (the Worker takes whatever is bound)", async () => {
    const { call } = setup({ adminToken: "short-token" });
    const response = await call("GET", "/AwsAccount", "Bearer short-token");
    expect(response.status).toBe(503);
    expect(response.json.issue[0].diagnostics).toMatch(/at least 16 characters/);
  });

  it("logs refusals with who was presented, never the secret", async () => {
    const { call, logs, createClient } = setup();
    const narrow = await createClient("narrow", { operations: ["download"] });
    const wrong = `Bearer narrow~${"B".repeat(43)}`;
    await call("GET", "/AwsAccount", wrong);
    await call("GET", "/AwsAccount", narrow);
    await call("GET", "/AwsAccount", `Basic ${btoa("someone:guess")}`);
    const refusals = logs.filter((entry) => entry.status === 401 || entry.status === 403);
    expect(refusals.map((entry) => [entry.status, entry.who])).toEqual([[401, "Client/narrow"], [403, "Client/narrow"], [401, "Client/someone"]]);
    expect(refusals[1]!.refused).toBe("this client may not manage accounts");
    expect(JSON.stringify(logs)).not.toContain(narrow.slice(7));
    expect(JSON.stringify(logs)).not.toContain("guess");
  });
});

describe("hosts signpost signs for (issue 11, 4)", () => {
  it.each([
    "169.254.169.254", "169.254.170.2", "[fd00:ec2::254]", "[fd00:ec2::23]", "[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]",
    "[64:ff9b::a9fe:a9fe]", "[fe80::1]", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "metadata.google.internal",
    "[:::]", "[::]", "0.0.0.0", "100.100.100.200", "host:0", "host:65536", "[::1", "a:b:c",
    "[64:ff9b:1::a9fe:a9fe]", "[2002:a9fe:a9fe::1]", "[::ffff:0:a9fe:a9fe]", "168.63.129.16", "192.0.0.192",
  ])("refuses %s", (host) => {
    expect(() => checkHost(host)).toThrow();
  });
  it.each(["127.0.0.1:9000", "localhost:9000", "10.0.0.5", "192.168.1.2:7480", "[::1]:9000", "minio:9000", "s3.eu-west-1.amazonaws.com", "[2001:db8::1]"])(
    "accepts %s", (host) => {
      expect(checkHost(host)).toBe(host);
    },
  );
});

// --- signpost's own calls out: real sockets and the real fetch, so that `redirect: "manual"` is what is tested ---

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ host: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { host: `127.0.0.1:${(server.address() as { port: number }).port}`, requests };
}

describe("signpost's own calls to S3 (issue 11, 4)", () => {
  async function multipartAgainst(host: string) {
    const { call, admin } = setup();
    await call("PUT", "/AwsAccount/s3", admin, { region: "us-east-1", host, "path-style": true, "use-ssl": false, ...KEYS });
    return (path: string, body: unknown) => call("POST", `/aws/storage/s3/bucket/$${path}`, admin, body);
  }

  it("never follows a redirect: the signed request is not sent on", async () => {
    const target = await listen((_, res) => res.writeHead(200).end("<ListPartsResult></ListPartsResult>"));
    const redirecting = await listen((req, res) => res.writeHead(307, { location: `http://${target.host}${req.url}` }).end());
    const op = await multipartAgainst(redirecting.host);
    for (const [path, body] of [
      ["create-multipart", { filename: "k" }],
      ["list-parts", { filename: "k", "upload-id": "u" }],
      ["complete-multipart", { filename: "k", "upload-id": "u", parts: [{ "part-number": 1, etag: '"e"' }] }],
      ["abort-multipart", { filename: "k", "upload-id": "u" }],
    ] as const) {
      const response = await op(path, body);
      expect(response.status, path).toBe(502);
      expect(response.json.issue[0].diagnostics).toMatch(/HTTP 307 \(a redirect, which signpost does not follow/);
    }
    expect(redirecting.requests).toHaveLength(4);
    expect(target.requests).toEqual([]);
  });

  it("stops reading an answer at its limit: a 400 MiB chunked answer is cut off at once", async () => {
    let sent = 0;
    let closed = false;
    const flood = await listen((req, res) => {
      res.writeHead(200, { "content-type": "application/xml" }); // chunked: no length to refuse up front
      const chunk = Buffer.alloc(64 * 1024, "x");
      const push = () => {
        while (!closed && sent < 400 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", push);
        }
        res.end();
      };
      req.socket.on("close", () => (closed = true));
      push();
    });
    const op = await multipartAgainst(flood.host);
    const response = await op("list-parts", { filename: "k", "upload-id": "u" });
    expect(response.status).toBe(502);
    expect(response.json.issue[0].diagnostics).toMatch(/larger than 1048576 bytes/);
    await vi.waitFor(() => expect(closed).toBe(true));
    expect(sent).toBeLessThan(16 * 1024 * 1024); // the socket was dropped long before 400 MiB
  });
});
