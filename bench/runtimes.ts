// The Web Crypto signer on each runtime: our signer (src/aws/signer.ts with webCryptoSha256) against aws4fetch, the same
// module (bench/runtimes/workload.ts) on Node, inside workerd and in Deno.
//
//   npx tsx bench/runtimes.ts [--json] [--rounds=n] [--n=urls]
//
// Node: in this process. workerd: bench/runtimes/worker.ts built like the Worker (wrangler --dry-run, minify) and run
// by Miniflare; a Worker's clock stands still while it computes, so each sample is the time of one request that signs
// n URLs, less the median time of a request that signs none. Deno: bench/runtimes/deno.ts under the deno binary from
// npm, timing itself. Before timing, the first URLs from each runtime are checked against ours on node:crypto (ours:
// the same string; aws4fetch: the same signature). Interleaved rounds; medians; the ratio is the median of per-round
// ratios. Every call is awaited in turn (one request's work), as in bench/signer.ts's "sequential" line. One more row
// for Deno: ours on node:crypto, with Node's HMAC and with the midstate HMAC src/runtime/deno.ts uses there (Deno's
// Web Crypto runs off the JS thread).
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Miniflare } from "miniflare";
import { nodeSha256 } from "../src/runtime/node-crypto.ts";
import { createPresigner } from "../src/aws/signer.ts";
import { fmt, hostLine, median, ROOT, table } from "./lib.ts";
import { presignRequest, signMany, sign, type Who } from "./runtimes/workload.ts";

const args = process.argv.slice(2);
const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const JSON_OUTPUT = args.includes("--json");
const ROUNDS = Number(option("rounds") ?? 5);
const N = Number(option("n") ?? 2000);
const WHO: Who[] = ["ours", "aws4fetch"];
const log = (message: string) => {
  if (!JSON_OUTPUT) console.error(message);
};

const reference = createPresigner(nodeSha256);
const expected = async (i: number) => reference.presign(presignRequest(i));

async function check(runtime: string, who: Who, i: number, url: string): Promise<string | undefined> {
  const want = await expected(i);
  if (who === "ours") return url === want ? undefined : `${runtime} ${who} #${i}: ${url}\n  expected ${want}`;
  const signature = (u: string) => new URL(u).searchParams.get("X-Amz-Signature");
  return signature(url) === signature(want) ? undefined : `${runtime} ${who} #${i}: signature of ${url} differs from ${want}`;
}

type Micros = Record<Who, number[]>;

async function onNode(): Promise<{ failures: string[]; micros: Micros }> {
  const failures: string[] = [];
  for (const who of WHO) for (let i = 0; i < 8; i++) failures.push((await check("node", who, i, await sign(who, i))) ?? "");
  const micros: Micros = { ours: [], aws4fetch: [] };
  for (const who of WHO) await signMany(who, N);
  for (let round = 0; round < ROUNDS; round++) {
    for (const who of round % 2 ? [...WHO].reverse() : WHO) {
      const started = performance.now();
      await signMany(who, N);
      micros[who].push(((performance.now() - started) * 1000) / N);
    }
  }
  return { failures: failures.filter(Boolean), micros };
}

function build(outDir: string): Promise<string> {
  const config = mkdtempSync(join(tmpdir(), "signpost-bench-wrangler-"));
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", XDG_CONFIG_HOME: config, NO_COLOR: "1" };
  const argv = ["wrangler", "deploy", "--dry-run", "--outdir", outDir, "bench/runtimes/worker.ts", "-c", "bench/edge/wrangler.toml"];
  return new Promise((resolve, reject) => {
    execFile("npx", argv, { cwd: ROOT, env }, (error, stdout, stderr) => {
      rmSync(config, { recursive: true, force: true });
      if (error) reject(new Error(`wrangler failed:\n${stdout}${stderr}`));
      else resolve(join(outDir, "worker.js"));
    });
  });
}

async function inWorkerd(outDir: string): Promise<{ failures: string[]; micros: Micros }> {
  const bundle = await build(outDir);
  const mf = new Miniflare({ modules: true, scriptPath: bundle, modulesRoot: outDir, compatibilityDate: "2026-04-26", kvNamespaces: ["ACCOUNTS"] });
  try {
    const get = async (query: string) => {
      const response = await mf.dispatchFetch(`http://localhost/?${query}`);
      const text = await response.text();
      if (response.status !== 200) throw new Error(`worker: ${response.status} ${text}`);
      return text;
    };
    const failures: string[] = [];
    for (const who of WHO) for (let i = 0; i < 8; i++) failures.push((await check("workerd", who, i, await get(`who=${who}&i=${i}`))) ?? "");
    const timed = async (who: Who, n: number) => {
      const started = performance.now();
      await get(`who=${who}&n=${n}`);
      return performance.now() - started;
    };
    for (const who of WHO) await timed(who, N);
    const empty: number[] = [];
    const totals: Record<Who, number[]> = { ours: [], aws4fetch: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const who of round % 2 ? [...WHO].reverse() : WHO) {
        empty.push(await timed(who, 0));
        totals[who].push(await timed(who, N));
      }
    }
    const base = median(empty);
    const micros: Micros = { ours: totals.ours.map((ms) => ((ms - base) * 1000) / N), aws4fetch: totals.aws4fetch.map((ms) => ((ms - base) * 1000) / N) };
    return { failures: failures.filter(Boolean), micros };
  } finally {
    await mf.dispose();
  }
}

function inDeno(): Promise<{ failures: string[]; micros: Micros; nodeCrypto: Micros; midstates: Micros; version: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, "node_modules/.bin/deno"), ["run", "--no-prompt", "bench/runtimes/deno.ts", String(ROUNDS), String(N)], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.once("exit", async (code) => {
      if (code !== 0) return reject(new Error(`deno exited with ${code}:\n${stderr}`));
      const out = JSON.parse(stdout) as { deno: string; check: Record<Who | "ours-node" | "ours-midstates", string[]>; micros: Record<Who | "ours-node" | "ours-midstates", number[]> };
      const checks = await Promise.all([
        ...WHO.flatMap((who) => out.check[who].map((url, i) => check("deno", who, i, url))),
        ...out.check["ours-node"].map((url, i) => check("deno (node:crypto)", "ours", i, url)),
        ...out.check["ours-midstates"].map((url, i) => check("deno (node:crypto, midstate HMAC)", "ours", i, url)),
      ]);
      // The node:crypto rows: ours on node:crypto against the same aws4fetch rounds.
      const nodeCrypto: Micros = { ours: out.micros["ours-node"], aws4fetch: out.micros.aws4fetch };
      const midstates: Micros = { ours: out.micros["ours-midstates"], aws4fetch: out.micros.aws4fetch };
      resolve({ failures: checks.filter((failure): failure is string => failure !== undefined), micros: out.micros, nodeCrypto, midstates, version: out.deno });
    });
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const outDir = mkdtempSync(join(tmpdir(), "signpost-bench-runtimes-"));
  try {
    log("Node...");
    const node = await onNode();
    log("workerd (Miniflare)...");
    const workerd = await inWorkerd(outDir);
    log("Deno...");
    const deno = await inDeno();
    const failures = [...node.failures, ...workerd.failures, ...deno.failures];
    if (failures.length) throw new Error(`URLs differ from ours on node:crypto:\n${failures.join("\n")}`);
    const rows = [
      { runtime: `Node ${process.version}`, ...node },
      { runtime: "workerd (Miniflare)", ...workerd },
      { runtime: `Deno ${deno.version}`, ...deno },
      { runtime: `Deno ${deno.version}, ours on node:crypto, HMAC by pads (as on Node)`, failures: [], micros: deno.nodeCrypto },
      { runtime: `Deno ${deno.version}, ours on node:crypto, HMAC by midstates (as src/runtime/deno.ts)`, failures: [], micros: deno.midstates },
    ].map((r) => ({
      runtime: r.runtime,
      oursMicros: Math.round(median(r.micros.ours) * 100) / 100,
      aws4fetchMicros: Math.round(median(r.micros.aws4fetch) * 100) / 100,
      ratio: Math.round(median(r.micros.ours.map((ours, i) => r.micros.aws4fetch[i]! / ours)) * 100) / 100,
    }));
    const elapsedSeconds = (performance.now() - started) / 1000;
    if (JSON_OUTPUT) {
      console.log(JSON.stringify({ rounds: ROUNDS, urlsPerSample: N, elapsedSeconds: Math.round(elapsedSeconds * 10) / 10, results: rows }, null, 2));
      return;
    }
    console.log(`\nOn ${hostLine()}. Web Crypto signing, sequential (each URL awaited), ${ROUNDS} rounds x ${fmt(N)} URLs, medians; URLs checked against ours on node:crypto\n`);
    console.log(
      table(
        ["runtime", "ours µs/URL", "ours URLs/s", "aws4fetch µs/URL", "ours vs aws4fetch"],
        rows.map((r) => [r.runtime, r.oursMicros.toFixed(2), fmt(1e6 / r.oursMicros), r.aws4fetchMicros.toFixed(2), `${r.ratio.toFixed(2)}x`]),
      ),
    );
    console.log("(the last two rows: ours on Deno's node:crypto, which answers synchronously, against the same aws4fetch rounds)");
    console.log(`\n(${elapsedSeconds.toFixed(1)} s)`);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

await main();
