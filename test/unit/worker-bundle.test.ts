// The Worker as `wrangler deploy` builds it (offline, --dry-run): small enough for the edge, and free of Node.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { expect, it } from "vitest";
import { buildWorker } from "../e2e/service.ts";

const BUDGET = 40 * 1024;

it("bundles under 40 KB gzip with no Node-only code", { timeout: 60_000 }, async () => {
  const bundle = readFileSync(join(await buildWorker(), "worker.js"));
  const gzip = gzipSync(bundle, { level: 9 }).length;
  console.log(`Worker bundle: ${(bundle.length / 1024).toFixed(1)} KB minified, ${(gzip / 1024).toFixed(1)} KB gzip (budget ${BUDGET / 1024} KB)`);
  expect(gzip).toBeLessThanOrEqual(BUDGET);
  const code = bundle.toString("utf8");
  expect(code).not.toMatch(/from\s*["']node:|require\(["']node:/);
  expect(code).not.toContain("@deno/kv");
  expect(code).toContain("AwsAccount"); // it is the real app
});
