// The Worker at the edge: bundle size and cold start, signpost against a Worker presigning with the AWS SDK.
//
//   npx tsx bench/edge.ts [--json] [--samples=n]
//
// Builds, offline and minified, as `wrangler deploy` would (wrangler --dry-run --outdir):
//   signpost      src/runtime/worker.ts with the repo's wrangler.toml
//   AWS SDK       bench/edge/sdk-worker.ts: the same job with @aws-sdk/client-s3 + @aws-sdk/s3-request-presigner
//   empty         bench/edge/empty-worker.ts: a constant JSON; what workerd and Miniflare cost before any of our code
// Size: the bundle's bytes, and gzip -9 of them (as test/unit/runtime/worker-bundle.test.ts counts).
// Cold start: each sample is a new Miniflare instance (a new workerd process, so a fresh isolate that has never
// seen the script), with the account in a persisted local KV namespace. Timed: start-up (new Miniflare until ready:
// workerd start, bundle parse, compile and top-level run), the first request (the handler's lazy set-up, the KV
// read, first runs of the code), and a second request. Samples interleave the three Workers; medians are shown.
// Before timing, each Worker's URL is checked (signature recomputed by smithy and by our signer).
// Warm CPU: one more instance each, warmed up, then many requests (4 at a time): the workerd process's CPU time
// (/proc/<pid>/stat) per request, what Workers bill; for signpost also $presign-batch with 100 GET URLs. The empty
// Worker's figure is what workerd and Miniflare's entry cost per request before any script runs.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { Miniflare } from "miniflare";
import { checkPresignedGet, findProcess, fmt, hostLine, median, processCpuMicros, ROOT, SDK_EXTRA_QUERY, table } from "./lib.ts";

const args = process.argv.slice(2);
const JSON_OUTPUT = args.includes("--json");
const SAMPLES = Number(args.find((a) => a.startsWith("--samples="))?.split("=")[1] ?? 7);
const log = (message: string) => {
  if (!JSON_OUTPUT) console.error(message);
};

const TOKEN = "bench-admin-token-0123456789abcdef";
const ACCOUNT = { region: "eu-central-1", "access-key-id": "AKIAIOSFODNN7EXAMPLE", "secret-access-key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const CREDENTIALS = { accessKeyId: ACCOUNT["access-key-id"], secretAccessKey: ACCOUNT["secret-access-key"] };
const BUCKET = "signpost-bench";
const KEY_PATH = "patients/00c0ffee/attachments/scan%201.pdf";
const URL_PATH = `/aws/storage/bench/${BUCKET}/${KEY_PATH}`;
const EXPECTED = { host: `${BUCKET}.s3.${ACCOUNT.region}.amazonaws.com`, path: `/${KEY_PATH}`, region: ACCOUNT.region, credentials: CREDENTIALS, expiresIn: 86400 };
// A sealing key, should the Worker want one for secrets at rest; unused otherwise.
const ENCRYPTION_KEY = Buffer.alloc(32, 7).toString("base64");

function compatibilityDate(): string {
  const match = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(ROOT, "wrangler.toml"), "utf8"));
  if (!match) throw new Error("wrangler.toml has no compatibility_date");
  return match[1]!;
}

/** `wrangler deploy --dry-run --outdir`, offline; resolves with the bundle's path. */
function build(outDir: string, extra: string[], output: string): Promise<string> {
  const config = mkdtempSync(join(tmpdir(), "signpost-bench-wrangler-"));
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", XDG_CONFIG_HOME: config, NO_COLOR: "1" };
  return new Promise((resolve, reject) => {
    execFile("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outDir, ...extra], { cwd: ROOT, env }, (error, stdout, stderr) => {
      rmSync(config, { recursive: true, force: true });
      if (error) reject(new Error(`wrangler deploy --dry-run ${extra.join(" ")} failed:\n${stdout}${stderr}`));
      else resolve(join(outDir, output));
    });
  });
}

interface Contender {
  id: string;
  name: string;
  bundle: string;
  bindings: Record<string, string>;
}

interface Sample {
  startupMs: number;
  firstMs: number;
  secondMs: number;
  totalMs: number;
}

let runtimeOutput = "";

function miniflare(contender: Contender, kvDir: string): Miniflare {
  runtimeOutput = "";
  return new Miniflare({
    modules: true,
    scriptPath: contender.bundle,
    modulesRoot: dirname(contender.bundle),
    compatibilityDate: compatibilityDate(),
    kvNamespaces: ["ACCOUNTS"],
    kvPersist: kvDir,
    bindings: contender.bindings,
    // signpost logs a line per request; keep workerd's output for errors only
    handleRuntimeStdio(out: NodeJS.ReadableStream, err: NodeJS.ReadableStream) {
      out.on("data", (chunk) => (runtimeOutput = (runtimeOutput + chunk).slice(-4000)));
      err.on("data", (chunk) => (runtimeOutput = (runtimeOutput + chunk).slice(-4000)));
    },
  });
}

async function request(mf: Miniflare, path = URL_PATH): Promise<{ status: number; text: string }> {
  const response = await mf.dispatchFetch(`http://localhost${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: response.status, text: await response.text() };
}

async function coldStart(contender: Contender, kvDir: string): Promise<Sample> {
  const t0 = performance.now();
  const mf = miniflare(contender, kvDir);
  try {
    await mf.ready;
    const t1 = performance.now();
    const first = await request(mf);
    const t2 = performance.now();
    const second = await request(mf);
    const t3 = performance.now();
    if (first.status !== 200 || second.status !== 200) throw new Error(`${contender.name}: ${first.status}/${second.status} ${first.text}`);
    return { startupMs: t1 - t0, firstMs: t2 - t1, secondMs: t3 - t2, totalMs: t2 - t0 };
  } finally {
    await mf.dispose();
  }
}

const BATCH_BODY = JSON.stringify({ files: Array.from({ length: 100 }, (_, i) => ({ filename: `patients/00c0ffee/attachments/scan ${i}.pdf`, method: "GET" })) });
const WARM_REQUESTS = 2000;

/** The workerd process's CPU µs per request, over `n` requests after a warm-up; `batch`: $presign-batch of 100. */
async function warmCpu(contender: Contender, kvDir: string, batch: boolean, n = batch ? WARM_REQUESTS / 10 : WARM_REQUESTS): Promise<number> {
  const mf = miniflare(contender, kvDir);
  try {
    await mf.ready;
    const pid = findProcess(process.pid, "workerd");
    if (pid === undefined) throw new Error("no workerd process found under this one");
    const send = async () => {
      const response = batch
        ? await mf.dispatchFetch(`http://localhost/aws/storage/bench/${BUCKET}/$presign-batch`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: BATCH_BODY })
        : await mf.dispatchFetch(`http://localhost${URL_PATH}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`${contender.name}: ${response.status} ${text}`);
    };
    const run = async (count: number) => {
      let left = count;
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (left-- > 0) await send();
      }));
    };
    await run(Math.ceil(n / 4));
    const before = processCpuMicros(pid);
    await run(n);
    return (processCpuMicros(pid) - before) / n;
  } finally {
    await mf.dispose();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const outDir = mkdtempSync(join(tmpdir(), "signpost-bench-edge-"));
  try {
    log("building the Workers (wrangler deploy --dry-run, minify)...");
    const edgeConfig = ["-c", "bench/edge/wrangler.toml"];
    const [signpostBundle, sdkBundle, emptyBundle] = await Promise.all([
      build(join(outDir, "signpost"), [], "worker.js"),
      build(join(outDir, "sdk"), edgeConfig, "sdk-worker.js"),
      build(join(outDir, "empty"), ["bench/edge/empty-worker.ts", ...edgeConfig], "empty-worker.js"),
    ]);
    const contenders: Contender[] = [
      { id: "signpost", name: "signpost (src/runtime/worker.ts)", bundle: signpostBundle, bindings: { SIGNPOST_ADMIN_TOKEN: TOKEN, SIGNPOST_ENCRYPTION_KEY: ENCRYPTION_KEY } },
      { id: "sdk", name: "AWS SDK presigner Worker", bundle: sdkBundle, bindings: { BENCH_TOKEN: TOKEN } },
      { id: "empty", name: "empty Worker (constant JSON)", bundle: emptyBundle, bindings: {} },
    ];
    const sizes = contenders.map((c) => {
      const bytes = readFileSync(c.bundle);
      return { id: c.id, name: c.name, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
    });

    // Accounts: signpost's through its API, the SDK Worker's as plain JSON, in one persisted KV namespace.
    const kvDir = join(outDir, "kv");
    const seed = miniflare(contenders[0]!, kvDir);
    try {
      const created = await seed.dispatchFetch("http://localhost/AwsAccount/bench", {
        method: "PUT",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(ACCOUNT),
      });
      if (created.status !== 201) throw new Error(`signpost Worker: PUT /AwsAccount answered ${created.status}: ${await created.text()}`);
      await (await seed.getKVNamespace("ACCOUNTS")).put("sdk-account/bench", JSON.stringify(ACCOUNT));
    } finally {
      await seed.dispose();
    }

    // Correctness first, in fresh instances that read the persisted accounts.
    const failures: string[] = [];
    for (const contender of contenders.slice(0, 2)) {
      const mf = miniflare(contender, kvDir);
      try {
        const answer = await request(mf);
        if (answer.status !== 200) failures.push(`${contender.name}: ${answer.status} ${answer.text}`);
        else {
          const { url } = JSON.parse(answer.text) as { url: string };
          failures.push(...(await checkPresignedGet(contender.name, url, { ...EXPECTED, extraQuery: contender.id === "sdk" ? SDK_EXTRA_QUERY : {} })));
        }
        const mf401 = await mf.dispatchFetch(`http://localhost${URL_PATH}`);
        if (mf401.status !== 401) failures.push(`${contender.name}: ${mf401.status} without a token`);
        await mf401.text();
      } finally {
        await mf.dispose();
      }
    }
    if (failures.length) throw new Error(`Workers disagree; not benchmarking:\n${failures.join("\n")}`);
    log(`verified; warming up, then ${SAMPLES} cold starts each...`);
    for (const contender of contenders) await coldStart(contender, kvDir);

    const samples = new Map<string, Sample[]>(contenders.map((c) => [c.id, []]));
    for (let sample = 0; sample < SAMPLES; sample++) {
      for (let i = 0; i < contenders.length; i++) {
        const contender = contenders[(i + sample) % contenders.length]!;
        samples.get(contender.id)!.push(await coldStart(contender, kvDir));
      }
    }
    log(`warm CPU: ${WARM_REQUESTS} requests each (${WARM_REQUESTS / 10} batches of 100 for signpost)...`);
    const warm = {
      signpost: await warmCpu(contenders[0]!, kvDir, false),
      sdk: await warmCpu(contenders[1]!, kvDir, false),
      empty: await warmCpu(contenders[2]!, kvDir, false),
      batch: await warmCpu(contenders[0]!, kvDir, true),
    };
    const round1 = (value: number) => Math.round(value * 10) / 10;
    const med = (id: string, field: keyof Sample) => median(samples.get(id)!.map((s) => s[field]));
    const results = contenders.map((c, i) => ({
      ...sizes[i]!,
      startupMs: round1(med(c.id, "startupMs")),
      firstRequestMs: round1(med(c.id, "firstMs")),
      secondRequestMs: round1(med(c.id, "secondMs")),
      coldTotalMs: round1(med(c.id, "totalMs")),
      // What the script adds to a cold start over the empty Worker (per-sample differences would pair unrelated runs).
      overEmptyMs: round1(med(c.id, "totalMs") - med("empty", "totalMs")),
    }));
    const by = (id: string) => results.find((r) => r.id === id)!;
    const ratios = {
      gzipSdkOverSignpost: Math.round((by("sdk").gzipBytes / by("signpost").gzipBytes) * 100) / 100,
      bytesSdkOverSignpost: Math.round((by("sdk").bytes / by("signpost").bytes) * 100) / 100,
      coldTotalSdkOverSignpost: Math.round((by("sdk").coldTotalMs / by("signpost").coldTotalMs) * 100) / 100,
      startupSdkOverSignpost: Math.round((by("sdk").startupMs / by("signpost").startupMs) * 100) / 100,
      firstRequestSdkOverSignpost: Math.round((by("sdk").firstRequestMs / by("signpost").firstRequestMs) * 100) / 100,
      overEmptySdkOverSignpost: by("signpost").overEmptyMs > 0 ? Math.round((by("sdk").overEmptyMs / by("signpost").overEmptyMs) * 100) / 100 : undefined,
    };
    const elapsedSeconds = (performance.now() - started) / 1000;
    if (JSON_OUTPUT) {
      console.log(JSON.stringify({ samples: SAMPLES, elapsedSeconds: round1(elapsedSeconds), results, ratios, warmCpuMicrosPerRequest: warm }, null, 2));
      return;
    }
    console.log(`\nEdge, on ${hostLine()}: Workers built with wrangler (minify), cold starts in fresh workerd processes via Miniflare, median of ${SAMPLES}\n`);
    console.log(
      table(
        ["Worker", "bundle KB", "gzip KB", "start-up ms", "1st request ms", "cold total ms", "over empty ms", "2nd request ms"],
        results.map((r) => [r.name, (r.bytes / 1024).toFixed(1), (r.gzipBytes / 1024).toFixed(1), r.startupMs.toFixed(1), r.firstRequestMs.toFixed(1), r.coldTotalMs.toFixed(1), r.id === "empty" ? "" : r.overEmptyMs.toFixed(1), r.secondRequestMs.toFixed(1)]),
      ),
    );
    console.log("");
    console.log(`AWS SDK Worker / signpost: gzip size ${ratios.gzipSdkOverSignpost.toFixed(2)}x, bundle ${ratios.bytesSdkOverSignpost.toFixed(2)}x`);
    console.log(
      `AWS SDK Worker / signpost: cold total ${ratios.coldTotalSdkOverSignpost.toFixed(2)}x, start-up ${ratios.startupSdkOverSignpost.toFixed(2)}x, first request ${ratios.firstRequestSdkOverSignpost.toFixed(2)}x` +
        (ratios.overEmptySdkOverSignpost === undefined ? "" : `, time over the empty Worker ${ratios.overEmptySdkOverSignpost.toFixed(2)}x`),
    );
    const over = (cpu: number) => Math.max(cpu - warm.empty, 0);
    console.log(`\nWarm CPU time of the workerd process per request (what Workers bill), ${WARM_REQUESTS} requests, 4 at a time:\n`);
    console.log(
      table(
        ["Worker", "CPU µs/request", "over the empty Worker", "CPU µs/URL over empty"],
        [
          ["signpost, one URL per request", fmt(warm.signpost), fmt(over(warm.signpost)), fmt(over(warm.signpost))],
          ["signpost, $presign-batch of 100 GET URLs", fmt(warm.batch), fmt(over(warm.batch)), (over(warm.batch) / 100).toFixed(1)],
          ["AWS SDK presigner Worker, one URL per request", fmt(warm.sdk), fmt(over(warm.sdk)), fmt(over(warm.sdk))],
          ["empty Worker (constant JSON)", fmt(warm.empty), "", ""],
        ],
      ),
    );
    console.log(`\nAWS SDK Worker / signpost, warm CPU per URL request: ${(warm.sdk / warm.signpost).toFixed(2)}x (over the empty Worker ${(over(warm.sdk) / Math.max(over(warm.signpost), 1)).toFixed(2)}x); a batched URL costs ${((over(warm.batch) / 100 / Math.max(over(warm.signpost), 1))).toFixed(2)}x a single one's CPU over the empty Worker`);
    console.log(`\n(${elapsedSeconds.toFixed(1)} s; ${fmt(SAMPLES * contenders.length)} workerd starts)`);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

await main().catch((error) => {
  console.error(`${error instanceof Error ? error.stack : error}\nworkerd said:\n${runtimeOutput}`);
  process.exit(1);
});
