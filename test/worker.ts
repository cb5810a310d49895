// The Worker as `wrangler deploy` builds it, offline (--dry-run): for the bundle budget and for workerd in the e2e suite.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

let built: Promise<string> | undefined;

/** Builds the Worker as `wrangler deploy` would, offline; resolves with the output folder. */
export function buildWorker(): Promise<string> {
  built ??= new Promise((resolve, reject) => {
    const outDir = mkdtempSync(join(tmpdir(), "signpost-worker-"));
    const config = mkdtempSync(join(tmpdir(), "signpost-wrangler-config-"));
    const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", XDG_CONFIG_HOME: config, NO_COLOR: "1" };
    execFile("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outDir], { cwd: ROOT, env }, (error, stdout, stderr) => {
      rmSync(config, { recursive: true, force: true });
      if (error) reject(new Error(`wrangler deploy --dry-run failed:\n${stdout}${stderr}`));
      else resolve(outDir);
    });
  });
  return built;
}

