// Batches over HTTP: URLs/s from $presign-batch (100 GET URLs per request) against one GET URL per request, on the
// same `npm start` server, and against the in-process signer on one core.
//
//   npx tsx bench/batch.ts [--duration=s] [--rounds=n] [--size=n] [--connections=n] [--profile[=dir]] [--deno]
//
// Targets (issue 18): batches of 100 give >= 10x the URLs/s of single requests, and >= 0.5x the in-process signer's
// URLs/s per core (server CPU time per URL against the signer's time per URL). Rounds alternate the two loads; the
// figures are medians. Each batch answer is checked first: as many URLs as files, each signed as smithy signs it.
// --profile: the server runs under `node --cpu-prof`, and after the rounds a timed batch load's top costs are
// printed per URL (the profiler slows it: the rounds' figures are then a little lower than without).
// --deno: the server is `deno task start` (Deno KV file, cache on) instead of `npm start`; the signer stays Node's.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { createPresigner } from "../src/aws/signer.ts";
import { nodeSha256 } from "../src/runtime/node-crypto.ts";
import { checkPresignedGet, fmt, hostLine, median, processCpuSplit, startServer, table, verdict } from "./lib.ts";
import { printProfile, profiledStartCommand, profileOf, summarizeProfile } from "./profile.ts";

const args = process.argv.slice(2);
const option = (name: string) => args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`))?.split("=")[1];
const DURATION_S = Number(option("duration") ?? 2);
const ROUNDS = Number(option("rounds") ?? 5);
const SIZE = Number(option("size") ?? 100);
const CONNECTIONS = Number(option("connections") ?? 16);
const PROFILE = args.some((a) => a.startsWith("--profile"));
const DENO = args.includes("--deno");
if (DENO && PROFILE) throw new Error("--profile profiles the Node server; not with --deno");

const TOKEN = "bench-admin-token-0123456789abcdef";
const ACCOUNT = { region: "eu-central-1", "access-key-id": "AKIAIOSFODNN7EXAMPLE", "secret-access-key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const CREDENTIALS = { accessKeyId: ACCOUNT["access-key-id"], secretAccessKey: ACCOUNT["secret-access-key"] };
const BUCKET = "signpost-bench";
const key = (i: number) => `patients/00c0ffee/attachments/scan ${i}.pdf`;
const BATCH_BODY = JSON.stringify({ files: Array.from({ length: SIZE }, (_, i) => ({ filename: key(i), method: "GET" })) });
const SINGLE_PATH = `/aws/storage/bench/${BUCKET}/${key(0).split("/").map(encodeURIComponent).join("/")}`;
const BATCH_PATH = `/aws/storage/bench/${BUCKET}/$presign-batch`;

interface Run {
  urlsPerSecond: number;
  cpuMicrosPerUrl: number;
  /** The part of it spent in the kernel. */
  systemMicrosPerUrl: number;
}

async function load(server: { url: string; pid: number; name: string }, batch: boolean): Promise<Run & { urls: number }> {
  const cpuBefore = processCpuSplit(server.pid);
  const result = await new Promise<autocannon.Result>((resolve, reject) =>
    autocannon(
      {
        url: `${server.url}${batch ? BATCH_PATH : SINGLE_PATH}`, connections: CONNECTIONS, pipelining: 1, duration: DURATION_S,
        method: batch ? "POST" : "GET", headers: { authorization: `Bearer ${TOKEN}`, ...(batch ? { "content-type": "application/json" } : {}) },
        ...(batch ? { body: BATCH_BODY } : {}),
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    ));
  const cpuAfter = processCpuSplit(server.pid);
  const system = cpuAfter.system - cpuBefore.system;
  const cpu = cpuAfter.user - cpuBefore.user + system;
  if (result.non2xx || result.errors || result.requests.total === 0) throw new Error(`${server.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  const urls = result.requests.total * (batch ? SIZE : 1);
  return { urlsPerSecond: urls / (result.duration || DURATION_S), cpuMicrosPerUrl: cpu / urls, systemMicrosPerUrl: system / urls, urls };
}

/** The in-process signer on one core: µs per GET URL, the same key shape and account. */
async function signerMicrosPerUrl(): Promise<number> {
  const presigner = createPresigner(nodeSha256);
  // The requests made up front: what is timed is the signer alone (encoding the key is the server's work).
  const date = new Date();
  const requests = Array.from({ length: 100 }, (_, i) => ({
    method: "GET", protocol: "https:", host: `${BUCKET}.s3.eu-central-1.amazonaws.com`, path: `/${key(i).split("/").map(encodeURIComponent).join("/")}`,
    region: "eu-central-1", credentials: CREDENTIALS, expiresIn: 86400, date,
  }));
  const request = (i: number) => requests[i % 100]!;
  // The first URL derives the signing key, which is cached once that promise settles: awaited here, or the
  // synchronous loops below (which never yield) would derive it again for every URL.
  if (typeof (await presigner.presign(request(0))) !== "string" || typeof presigner.presign(request(1)) !== "string") throw new Error("the signing key was not cached");
  for (let i = 0; i < 20_000; i++) presigner.presign(request(i));
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    let n = 0;
    while (performance.now() - started < 300) for (let j = 0; j < 100; j++, n++) presigner.presign(request(n));
    samples.push(((performance.now() - started) * 1000) / n);
  }
  return median(samples);
}

/**
 * The least a batched URL can cost in process, whatever the server does around it: its share of parsing the batch's
 * body, its key encoded, the signer, its entry in the answer and its audit line (as the service writes them), the
 * answer and the lines joined and UTF-8 encoded. No HTTP, routing, checks or policy. µs per URL, one core.
 */
async function leastMicrosPerBatchedUrl(): Promise<number> {
  const presigner = createPresigner(nodeSha256);
  const host = `${BUCKET}.s3.eu-central-1.amazonaws.com`;
  const date = new Date();
  await presigner.presign({ method: "GET", protocol: "https:", host, path: "/", region: "eu-central-1", credentials: CREDENTIALS, expiresIn: 86400, date });
  const auditStart = `{"audit":true,"time":"${date.toISOString()}","who":"admin","action":"presign","account":"bench","bucket":"${BUCKET}","expires-at":"${date.toISOString()}","batch":true`;
  let bytes = 0;
  let first = "";
  const batch = () => {
    const { files } = JSON.parse(BATCH_BODY) as { files: { filename: string; method: string }[] };
    const entries: string[] = [];
    const lines: string[] = [];
    for (const { filename, method } of files) {
      const url = presigner.presign({ method, protocol: "https:", host, path: `/${filename.replaceAll(" ", "%20")}`, region: "eu-central-1", credentials: CREDENTIALS, expiresIn: 86400, date }) as string;
      entries.push(`{"filename":"${filename}","method":"${method}","url":"${url}"}`);
      first ||= url;
      lines.push(`${auditStart},"operation":"download","s3-method":"${method}","key":"${filename}","expires-in":86400}`);
    }
    lines.push("");
    bytes += Buffer.byteLength(`{"urls":[${entries.join(",")}],"expires-at":"${date.toISOString()}"}`) + Buffer.byteLength(lines.join("\n"));
  };
  batch();
  // What is timed makes the URL the service makes (and smithy).
  const failures = await checkPresignedGet("least batch url 0", first, { host, path: `/${key(0).split("/").map(encodeURIComponent).join("/")}`, region: "eu-central-1", credentials: CREDENTIALS, expiresIn: 86400 });
  if (failures.length) throw new Error(failures.join("\n"));
  for (let i = 0; i < 200; i++) batch();
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    let n = 0;
    while (performance.now() - started < 300) n += (batch(), SIZE);
    samples.push(((performance.now() - started) * 1000) / n);
  }
  if (bytes === 0) throw new Error("nothing was made");
  return median(samples);
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "signpost-bench-batch-"));
  const profileDir = PROFILE ? (option("profile") ?? mkdtempSync(join(tmpdir(), "signpost-bench-profiles-"))) : undefined;
  const env = { SIGNPOST_DATA_DIR: dataDir, SIGNPOST_ADMIN_TOKEN: TOKEN };
  const server = profileDir
    ? await startServer("signpost (profiled)", "sh", ["-c", profiledStartCommand(profileDir)], env, "src/runtime/node.ts")
    : DENO
      ? await startServer("signpost on Deno", "node_modules/.bin/deno", ["task", "start"], env, "src/runtime/deno.ts")
      : await startServer("signpost", "npm", ["start", "--silent"], env, "src/runtime/node.ts");
  let profiled: { from: number; to: number; urls: number } | undefined;
  try {
    const call = (method: string, path: string, body?: string) =>
      fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, ...(body ? { body } : {}) });
    const created = await call("PUT", "/AwsAccount/bench", JSON.stringify(ACCOUNT));
    if (created.status !== 201) throw new Error(`PUT /AwsAccount: ${created.status} ${await created.text()}`);
    // Correctness first: every URL of a batch is the URL asked for, signed as smithy signs it.
    const answer = (await (await call("POST", BATCH_PATH, BATCH_BODY)).json()) as { urls: { filename: string; url: string }[] };
    if (answer.urls.length !== SIZE) throw new Error(`a batch of ${SIZE} answered ${answer.urls.length} URLs`);
    const failures = [];
    for (const [i, { url }] of answer.urls.entries()) {
      failures.push(...(await checkPresignedGet(`batch url ${i}`, url, { host: `${BUCKET}.s3.eu-central-1.amazonaws.com`, path: `/${key(i).split("/").map(encodeURIComponent).join("/")}`, region: "eu-central-1", credentials: CREDENTIALS, expiresIn: 86400 })));
    }
    if (failures.length) throw new Error(failures.join("\n"));
    console.error(`[bench] ${SIZE} URLs of a batch verified; warming up...`);
    await load(server, false);
    await load(server, true);
    const single: Run[] = [];
    const batched: Run[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      console.error(`[bench] round ${round + 1}/${ROUNDS}...`);
      for (const batch of round % 2 ? [true, false] : [false, true]) (batch ? batched : single).push(await load(server, batch));
    }
    const signer = await signerMicrosPerUrl();
    const least = await leastMicrosPerBatchedUrl();
    const med = (runs: Run[], field: keyof Run) => median(runs.map((run) => run[field]));
    console.log(`\nBatches, ${DENO ? "signpost on Deno (deno task start), " : ""}Node ${process.version} on ${hostLine()}: autocannon, ${CONNECTIONS} connections, ${ROUNDS} rounds x ${DURATION_S} s, medians; batch of ${SIZE} GET URLs\n`);
    console.log(
      table(
        ["load", "URLs/s", "server CPU µs/URL", "of it system"],
        [
          ["one URL per request (GET)", fmt(med(single, "urlsPerSecond")), med(single, "cpuMicrosPerUrl").toFixed(2), med(single, "systemMicrosPerUrl").toFixed(2)],
          [`$presign-batch, ${SIZE} URLs per request`, fmt(med(batched, "urlsPerSecond")), med(batched, "cpuMicrosPerUrl").toFixed(2), med(batched, "systemMicrosPerUrl").toFixed(2)],
          ["in-process signer (one core)", fmt(1e6 / signer), signer.toFixed(2), ""],
          ["least a batched URL needs, in process (one core)", fmt(1e6 / least), least.toFixed(2), ""],
        ],
      ),
    );
    const byRequests = median(batched.map((run, i) => run.urlsPerSecond / single[i]!.urlsPerSecond));
    const byCpu = median(batched.map((run, i) => single[i]!.cpuMicrosPerUrl / run.cpuMicrosPerUrl));
    const perCore = signer / med(batched, "cpuMicrosPerUrl");
    console.log("");
    console.log(`batch of ${SIZE} vs one URL per request, URLs/s   ${byRequests.toFixed(2).padStart(6)}x  (by CPU time ${byCpu.toFixed(2)}x)${verdict(byRequests, 10)}`);
    console.log(`batch URLs per core vs the in-process signer      ${perCore.toFixed(2).padStart(6)}x${verdict(perCore, 0.5)}`);
    // What the per-core target leaves to everything but the least a batched URL needs: the signer's time at 0.5x is
    // 2 x the signer, of which the least takes this share (at 100% nothing is left for HTTP, routing, checks).
    console.log(`  the least a batched URL needs, in process, is ${(least / signer).toFixed(2)}x the signer's time: ${((100 * least) / (2 * signer)).toFixed(0)}% of what 0.5x allows`);
    if (profileDir) {
      const from = Number(process.hrtime.bigint() / 1000n);
      const { urls } = await load(server, true);
      profiled = { from, to: Number(process.hrtime.bigint() / 1000n), urls };
    }
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (profileDir && profiled) printProfile(`signpost under a batch load (${SIZE} GET URLs a request)`, summarizeProfile(profileOf(profileDir, server.pid), profiled), profiled.urls, "URL");
}

await main();
