// Issue 12, end to end on every runtime: what a new user does first, as the README tells it.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TEST_ENCRYPTION_KEY } from "../sealer.ts";
import "./s3-target.ts";
import { apiClient, RUNTIMES, type RunningService, startService, tempDataDir } from "./service.ts";

const s3 = inject("s3");
const TOKEN = "new-user-admin-token-0123456789abcdef";

it("the Worker answers a bad SIGNPOST_ACCOUNT_CACHE_MS binding with 503 naming it", async () => {
  const worker = await startService("worker", { env: { SIGNPOST_ADMIN_TOKEN: TOKEN, SIGNPOST_ACCOUNT_CACHE_MS: "5s" } });
  try {
    const response = await apiClient(worker.url, TOKEN)("GET", "/AwsAccount");
    expect(response.status).toBe(503);
    expect(response.json().issue[0].diagnostics).toMatch(/^SIGNPOST_ACCOUNT_CACHE_MS must be a whole number of milliseconds/);
  } finally {
    await worker.stop();
  }
});

describe.each(RUNTIMES)("%s", (runtime) => {
  let service: RunningService;
  let api: ReturnType<typeof apiClient>;
  const [dataDir, removeDataDir] = tempDataDir(`new-user-${runtime}`);
  const run = `${runtime}-${Date.now().toString(36)}`;

  beforeAll(async () => {
    service = await startService(runtime, { dataDir, env: { SIGNPOST_ADMIN_TOKEN: TOKEN, SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } });
    api = apiClient(service.url, TOKEN);
    // An IP host without path-style: its URLs are path style anyway (bucket.127.0.0.1 could never resolve).
    const created = await api("PUT", "/AwsAccount/local", JSON.stringify({ region: s3.region, host: s3.host, "use-ssl": false, "access-key-id": s3.accessKeyId, "secret-access-key": `${s3.secretAccessKey}-wrong` }), "application/fhir+json");
    expect(created.status, created.text).toBe(201);
  });
  afterAll(async () => {
    await service?.stop();
    removeDataDir();
  });

  it("fixes a wrong secret with PATCH, keeps the rest, and its URLs then work on S3", async () => {
    const key = `${run}/patched.txt`;
    const before = await api("POST", `/aws/storage/local/${s3.bucket}`, JSON.stringify({ filename: key }), "application/json");
    expect(new URL(before.json().url).pathname).toBe(`/${s3.bucket}/${key}`);
    expect((await fetch(before.json().url, { method: "PUT", body: "x" })).status).toBe(403); // the wrong secret
    const patched = await api("PATCH", "/AwsAccount/local", JSON.stringify({ "secret-access-key": s3.secretAccessKey }), "application/merge-patch+json");
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json()).toMatchObject({ host: s3.host, "access-key-id": s3.accessKeyId, meta: { versionId: "2" } });
    const after = await api("POST", `/aws/storage/local/${s3.bucket}`, JSON.stringify({ filename: key }), "application/json");
    expect((await fetch(after.json().url, { method: "PUT", body: "patched" })).status).toBe(200);
    // A PATCH that does not name the secret keeps it.
    expect((await api("PATCH", "/AwsAccount/local", JSON.stringify({ region: s3.region }), "application/merge-patch+json")).status).toBe(200);
    const get = await api("GET", `/aws/storage/local/${s3.bucket}/${key}?disposition=inline`);
    const download = await fetch(get.json().url);
    expect(await download.text()).toBe("patched");
    expect(download.headers.get("content-disposition")).toBe("inline");
  });

  it("refuses a typo in the query instead of handing out a day-long URL", async () => {
    const response = await api("GET", `/aws/storage/local/${s3.bucket}/${run}/x?expires=10`);
    expect(response.status).toBe(400);
    expect(response.json().issue[0].diagnostics).toMatch(/unknown query parameter "expires"/);
  });

  it("serves the Location a create answers with", async () => {
    const created = await api("PUT", "/Client/reader", "policy:\n  operations: [download]\n");
    expect(created.status).toBe(201);
    const location = created.headers.get("location")!;
    expect((await api("GET", location)).json()).toMatchObject({ id: "reader", meta: { versionId: "1" } });
  });
});
