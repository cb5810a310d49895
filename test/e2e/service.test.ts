// End to end: signpost started as a user starts it, an account created through its API, and every URL it hands
// out judged by a real S3 server (RGW, which checks SigV4 strictly; or any S3 given by S3_ENDPOINT).
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { KEY_CORPUS } from "../corpus.ts";
import "./s3-target.ts";
import { apiClient, type RunningService, startService } from "./service.ts";

const s3 = inject("s3");
const dataDir = mkdtempSync(join(tmpdir(), "signpost-e2e-"));
let service: RunningService;
let api: ReturnType<typeof apiClient>;
let token: string;
const run = `run-${Date.now().toString(36)}`;

const accountYaml = (secret = s3.secretAccessKey) =>
  [
    `region: ${s3.region}`,
    `host: "${s3.host}"`,
    "path-style: true",
    `use-ssl: ${s3.endpoint.startsWith("https:")}`,
    `access-key-id: ${s3.accessKeyId}`,
    `secret-access-key: "${secret}"`,
  ].join("\n");

const encodePath = (key: string) => key.split("/").map(encodeURIComponent).join("/");

async function urlFor(method: "PUT" | "GET" | "DELETE", key: string, query = "", account = "rgw", bucket = s3.bucket): Promise<string> {
  const response =
    method === "PUT"
      ? await api("POST", `/aws/storage/${account}/${bucket}${query}`, JSON.stringify({ filename: key }), "application/json")
      : await api(method, `/aws/storage/${account}/${bucket}/${encodePath(key)}${query}`);
  expect(response.status, response.text).toBe(200);
  return response.json().url;
}

beforeAll(async () => {
  service = await startService({ SIGNPOST_DATA_DIR: dataDir });
  token = service.printedToken!;
  api = apiClient(service.url, token);
  const created = await api("PUT", "/AwsAccount/rgw", accountYaml());
  expect(created.status, created.text).toBe(201);
});

afterAll(async () => {
  await service?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("start-up", () => {
  it("generated a 256-bit admin token, printed it once and kept it with mode 0600", () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(service.stderr().split(token).length - 1).toBe(1);
    expect(statSync(join(dataDir, "admin-token")).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  it("needs the token everywhere but /health", async () => {
    expect((await fetch(`${service.url}/health`)).status).toBe(200);
    const anonymous = await fetch(`${service.url}/AwsAccount`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await apiClient(service.url, `${token}x`)("GET", "/AwsAccount")).status).toBe(401);
  });
});

describe("every key of the corpus round-trips through presigned URLs", () => {
  it.each(KEY_CORPUS.map((key) => [key]))("%s", async (suffix) => {
    const key = new TextEncoder().encode(suffix).length >= 1000 ? suffix : `${run}/${suffix}`; // keep the 1024-byte key exact
    const bytes = new TextEncoder().encode(`content of ${key} ${Math.random()}`);

    const put = await fetch(await urlFor("PUT", key), { method: "PUT", body: bytes });
    expect(put.status, await put.text()).toBe(200);

    const get = await fetch(await urlFor("GET", key));
    expect(get.status).toBe(200);
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(bytes);

    const del = await fetch(await urlFor("DELETE", key), { method: "DELETE" });
    expect(del.status).toBe(204);

    const gone = await fetch(await urlFor("GET", key));
    expect(gone.status).toBe(404);
  });

  it("keeps NFC and NFD forms apart as different objects", async () => {
    const nfc = `${run}/forms/${"é".normalize("NFC")}`;
    const nfd = `${run}/forms/${"é".normalize("NFD")}`;
    expect((await fetch(await urlFor("PUT", nfc), { method: "PUT", body: "nfc" })).status).toBe(200);
    expect((await fetch(await urlFor("PUT", nfd), { method: "PUT", body: "nfd" })).status).toBe(200);
    expect(await (await fetch(await urlFor("GET", nfc))).text()).toBe("nfc");
    expect(await (await fetch(await urlFor("GET", nfd))).text()).toBe("nfd");
  });
});

describe("the S3 server refuses URLs that were tampered with or misused", () => {
  const key = `${run}/refusals/object.txt`;
  const body = "the original bytes";

  beforeAll(async () => {
    expect((await fetch(await urlFor("PUT", key), { method: "PUT", body })).status).toBe(200);
  });

  const expectRefused = async (response: Response) => {
    expect(response.status).toBe(403);
    expect(await response.text()).toMatch(/<Code>(SignatureDoesNotMatch|AccessDenied)<\/Code>/);
  };

  it("accepts the untouched URL (the control)", async () => {
    expect(await (await fetch(await urlFor("GET", key))).text()).toBe(body);
  });

  it("refuses an altered signature", async () => {
    const url = new URL(await urlFor("GET", key));
    const signature = url.searchParams.get("X-Amz-Signature")!;
    url.searchParams.set("X-Amz-Signature", (signature[0] === "0" ? "1" : "0") + signature.slice(1));
    await expectRefused(await fetch(url));
  });

  it("refuses the URL for another key", async () => {
    const url = new URL(await urlFor("GET", key));
    url.pathname = url.pathname.replace("object.txt", "other.txt");
    await expectRefused(await fetch(url));
  });

  it("refuses a GET with a PUT URL, and a PUT or DELETE with a GET URL", async () => {
    await expectRefused(await fetch(await urlFor("PUT", key)));
    const get = await urlFor("GET", key);
    await expectRefused(await fetch(get, { method: "PUT", body: "overwritten" }));
    await expectRefused(await fetch(get, { method: "DELETE" }));
    expect(await (await fetch(await urlFor("GET", key))).text()).toBe(body); // nothing changed
  });

  it("refuses an edited X-Amz-Expires and an extra unsigned parameter", async () => {
    const edited = new URL(await urlFor("GET", key, "?expiration=60"));
    edited.searchParams.set("X-Amz-Expires", "604800");
    await expectRefused(await fetch(edited));
    const extra = new URL(await urlFor("GET", key));
    extra.searchParams.set("response-content-type", "text/html");
    await expectRefused(await fetch(extra));
  });

  it("refuses the URL moved to another bucket", async () => {
    const url = new URL(await urlFor("GET", key));
    url.pathname = url.pathname.replace(`/${s3.bucket}/`, `/${s3.bucket}x/`);
    const response = await fetch(url);
    expect([403, 404]).toContain(response.status); // the bucket does not exist: 404 is a refusal too
    if (response.status === 403) await expectRefused(response);
  });

  it("refuses URLs signed with a wrong secret", async () => {
    expect((await api("PUT", "/AwsAccount/wrong-secret", accountYaml(`${s3.secretAccessKey}x`))).status).toBe(201);
    await expectRefused(await fetch(await urlFor("GET", key, "", "wrong-secret")));
  });

  it("refuses an expired URL (expiration=1)", async () => {
    const url = await urlFor("GET", key, "?expiration=1");
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await expectRefused(await fetch(url));
  });
});

describe("signpost refuses bad requests with the documented 4xx", () => {
  it.each([
    ["an unknown account", "GET", "/aws/storage/nobody/bucket/k", undefined, 404],
    ["a bad expiration", "GET", `/aws/storage/rgw/${s3.bucket}/k?expiration=604801`, undefined, 400],
    ["a bad bucket name", "GET", "/aws/storage/rgw/Bad_Bucket/k", undefined, 400],
    ["a dot-dot key", "POST", `/aws/storage/rgw/${s3.bucket}`, "filename: a/../b", 400],
    ["an account without region", "PUT", "/AwsAccount/x", "host: 127.0.0.1", 400],
    ["a form body", "PUT", "/AwsAccount/x", "region=us-east-1", 415],
    ["an unknown route", "GET", "/Patient", undefined, 404],
  ])("%s", async (_, method, path, body, status) => {
    const type = body?.includes("=") && !body.includes(":") ? "application/x-www-form-urlencoded" : "text/yaml";
    const response = await api(method, path, body, type);
    expect(response.status).toBe(status);
    expect(response.json().resourceType).toBe("OperationOutcome");
  });

  it("refuses a body over 64 KiB with 413", async () => {
    const response = await api("PUT", "/AwsAccount/x", `region: us-east-1\n#${"x".repeat(70_000)}\n`);
    expect(response.status).toBe(413);
  });
});

describe("default credentials from the environment", () => {
  it("signs with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for an account without keys, and the URLs work", async () => {
    const envData = mkdtempSync(join(tmpdir(), "signpost-e2e-env-"));
    const withEnv = await startService({
      SIGNPOST_DATA_DIR: envData,
      SIGNPOST_ADMIN_TOKEN: "env-test-admin-token-0123456789",
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    try {
      expect(withEnv.printedToken).toBeUndefined();
      const envApi = apiClient(withEnv.url, "env-test-admin-token-0123456789");
      const yaml = `region: ${s3.region}\nhost: "${s3.host}"\npath-style: true\nuse-ssl: false\n`;
      expect((await envApi("PUT", "/AwsAccount/default", yaml)).status).toBe(201);
      const key = `${run}/env/credentials.txt`;
      const put = await envApi("POST", `/aws/storage/default/${s3.bucket}`, `filename: ${key}`);
      expect((await fetch(put.json().url, { method: "PUT", body: "from env" })).status).toBe(200);
      const get = await envApi("GET", `/aws/storage/default/${s3.bucket}/${key}`);
      expect(await (await fetch(get.json().url)).text()).toBe("from env");
    } finally {
      expect(await withEnv.stop()).toBe(0);
      rmSync(envData, { recursive: true, force: true });
    }
  });
});

describe("crash safety", () => {
  it("keeps every acknowledged write when killed with SIGKILL mid-write", async () => {
    const crashData = mkdtempSync(join(tmpdir(), "signpost-e2e-crash-"));
    const adminToken = "crash-test-admin-token-0123456789";
    let crashing = await startService({ SIGNPOST_DATA_DIR: crashData, SIGNPOST_ADMIN_TOKEN: adminToken });
    try {
      const crashApi = apiClient(crashing.url, adminToken);
      const acknowledged: string[] = [];
      let stop = false;
      // Four writers in parallel; the process is killed while they run.
      const writers = Array.from({ length: 4 }, async (_, writer) => {
        for (let i = 0; !stop; i++) {
          const id = `w${writer}-${i}`;
          try {
            const response = await crashApi("PUT", `/AwsAccount/${id}`, `region: us-east-1\nhost: "h${i}.example.com"`);
            if (response.status === 201) acknowledged.push(id);
          } catch {
            return; // connection refused or reset: the process is gone
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 700));
      await crashing.crash();
      stop = true;
      await Promise.all(writers);
      expect(acknowledged.length).toBeGreaterThan(10);

      crashing = await startService({ SIGNPOST_DATA_DIR: crashData, SIGNPOST_ADMIN_TOKEN: adminToken });
      const list = await apiClient(crashing.url, adminToken)("GET", "/AwsAccount");
      expect(list.status).toBe(200);
      const stored = new Map(list.json().entry.map((e: { resource: { id: string; host: string } }) => [e.resource.id, e.resource.host]));
      for (const id of acknowledged) expect(stored.get(id), id).toBe(`h${id.split("-")[1]}.example.com`);
    } finally {
      await crashing.stop();
      rmSync(crashData, { recursive: true, force: true });
    }
  });
});

describe("restart", () => {
  it("stops cleanly on SIGTERM, keeps accounts and the token, and does not print the token again", async () => {
    const logs = service.stdout();
    expect(await service.stop()).toBe(0);
    expect(logs).not.toContain(token);
    expect(logs).not.toContain(s3.secretAccessKey);
    expect(logs).not.toContain("X-Amz-Signature");

    service = await startService({ SIGNPOST_DATA_DIR: dataDir });
    expect(service.printedToken).toBeUndefined();
    expect(service.stderr()).not.toContain(token);
    api = apiClient(service.url, token);
    const account = await api("GET", "/AwsAccount/rgw");
    expect(account.status).toBe(200);
    expect(account.json()).toMatchObject({ id: "rgw", host: s3.host, "path-style": true, meta: { versionId: "1" } });
    expect(account.text).not.toContain(s3.secretAccessKey);
    const key = `${run}/after-restart.txt`;
    expect((await fetch(await urlFor("PUT", key), { method: "PUT", body: "still here" })).status).toBe(200);
    expect(await (await fetch(await urlFor("GET", key))).text()).toBe("still here");
  });
});
