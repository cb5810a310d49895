// The Worker as `wrangler deploy` builds it (offline, --dry-run): small enough for the edge, and free of Node.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { expect, it } from "vitest";
import { buildWorker } from "../../worker.ts";

// 40 KB until issues 11 and 12: the back-end checks, scoped credentials and $verify cost 7 KB, PATCH, the settings
// and the query checks 2 KB more, the restructure 1 KB (48.6 KB). End-user tokens (issue 14, which grants them 8 KB)
// cost 7.8 KB: hono's JWS verify 2.3 KB, introspectors, key sets and the checks 5.5 KB (56.4 KB). Integrity and
// limits (issue 17) 1.8 KB: the pins, the policy limits, the multipart total; batches (issue 18) 0.4 KB; the change
// feed's hook for PostgreSQL replicas (issue 16) 0.2 KB. Uppy (issue 15) 2.7 KB: the Companion routes 1.6 KB, $sign
// 0.7 KB, keys, metadata and the shared multipart calls 0.4 KB. keep_names = false took 4.4 KB off (58.7 KB); one
// RegExpRouter for every route 1.8 KB, the log lines and answers written from their parts 0.4 KB (60.9 KB).
// js-yaml's parser is 13.7 KB of it all (README, Cloudflare Workers).
const BUDGET = 64 * 1024;

it(`bundles under ${BUDGET / 1024} KB gzip with no Node-only code`, { timeout: 60_000 }, async () => {
  const bundle = readFileSync(join(await buildWorker(), "worker.js"));
  const gzip = gzipSync(bundle, { level: 9 }).length;
  console.log(`Worker bundle: ${(bundle.length / 1024).toFixed(1)} KB minified, ${(gzip / 1024).toFixed(1)} KB gzip (budget ${BUDGET / 1024} KB)`);
  expect(gzip).toBeLessThanOrEqual(BUDGET);
  const code = bundle.toString("utf8");
  expect(code).not.toMatch(/from\s*["']node:|require\(["']node:/);
  expect(code).not.toContain("@deno/kv");
  expect(code).toContain("AwsAccount"); // it is the real app
});
