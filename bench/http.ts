// Presigned URLs over HTTP: the real Node server (`npm start`) against an AWS SDK baseline and the HTTP floor.
//
//   npx tsx bench/http.ts [--json] [--duration=s] [--connections=n] [--rounds=n] [--profile[=dir]] [--compare=dir] [--control[=µs]] [--control-per-turn] [--deno]
//
// Four servers (five with --deno), each its own process, all on loopback:
//   signpost           `npm start` (temp SIGNPOST_DATA_DIR, SIGNPOST_ADMIN_TOKEN), account cache on (default 5 s)
//   signpost, no cache the same with SIGNPOST_ACCOUNT_CACHE_MS=0: every request reads the account from the KV file
//   signpost on Deno   with --deno: `deno task start` (Deno KV file, cache on), ratios printed without targets
//   SDK baseline       bench/servers/sdk-baseline.ts: Hono + @aws-sdk/s3-request-presigner, bearer check, Map lookup
//   HTTP floor         bench/servers/floor.ts: Hono answering a constant JSON of the same size, nothing else
// The account is created through signpost's API. Every server answers GET /aws/storage/bench/<bucket>/<key> with the
// bearer token; before timing, each one's URL is checked (signature recomputed by @smithy/signature-v4 and by our
// signer; host, path, expiry) and the floor's body is compared with signpost's. signpost's request log (and audit
// line) stays on (stdout to /dev/null: each line is still formatted and written).
// Load: autocannon from this process, same connections, pipelining 1 and duration for all; a warm-up run each, then
// interleaved rounds (the order rotates each round). The table shows medians over rounds; each ratio is the median
// of per-round ratios. Server CPU µs per request comes from /proc/<pid>/stat of the server process: it does not
// depend on how much CPU the load generator or other tenants took, so on this shared 2-core machine it is the
// steadier comparison (printed as "by CPU time"), and "of it system" is its kernel part. Latencies are recorded per response (sub-millisecond). "Client
// wake-ups/req" are autocannon's context switches per request (/proc/self/status): each is an answer that found the
// client asleep, and waking it costs the server's CPU on loopback (more in a VM); it does not depend on the host.
// --compare=DIR: one more contender, `npm start` in another checkout (say, with a patch applied), cache warm, and its
// ratio to signpost: how to measure a change to src/ before it lands.
// --control[=µs]: one more contender, the floor spinning that long (default 60) before each answer: how much a
// request costs beyond the work it does when the server is that much slower (the loopback send wakes an idle client).
// --profile: after the rounds, one more run each of signpost (cache warm, no cache) and of the floor under
// `node --cpu-prof` (the start script's command with the flags added), and their top costs over the timed run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { checkPresignedGet, contextSwitches, fmt, hostLine, median, SDK_EXTRA_QUERY, processCpuSplit, quantile, ROOT, type Server, startServer, table, verdict } from "./lib.ts";
import { printProfile, profiledStartCommand, profileOf, summarizeProfile } from "./profile.ts";

const args = process.argv.slice(2);
const option = (name: string) => args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`))?.split("=")[1];
const JSON_OUTPUT = args.includes("--json");
const DURATION_S = Number(option("duration") ?? 2);
const CONNECTIONS = Number(option("connections") ?? 16);
const ROUNDS = Number(option("rounds") ?? 7);
const WARMUP_S = 2;
const PROFILE = args.some((a) => a.startsWith("--profile"));
// Another checkout (e.g. with a patch applied) whose `npm start` runs as one more contender, cache warm.
const COMPARE = option("compare");
// The floor made slower by a busy loop of this many µs per request, as a control (--control[=µs]).
const CONTROL_US = args.some((a) => a === "--control" || a.startsWith("--control=")) ? Number(option("control") ?? 60) : undefined;
// --control-per-turn: the control's answers held to the end of the event loop's turn, as signpost's are.
const CONTROL_PER_TURN = args.includes("--control-per-turn");
// --deno: one more contender, signpost on Deno. Off by default: while a Deno server is up, the floor's rate falls
// (about 72k to 57k req/s here; cause not found: BENCHMARKS.md part 8), which would flatter the ratios.
const DENO = args.includes("--deno");
const log = (message: string) => {
  if (!JSON_OUTPUT) console.error(message);
};

const TOKEN = "bench-admin-token-0123456789abcdef";
const ACCOUNT_ID = "bench";
const ACCOUNT = { region: "eu-central-1", "access-key-id": "AKIAIOSFODNN7EXAMPLE", "secret-access-key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const CREDENTIALS = { accessKeyId: ACCOUNT["access-key-id"], secretAccessKey: ACCOUNT["secret-access-key"] };
const BUCKET = "signpost-bench";
const KEY_PATH = "patients/00c0ffee/attachments/scan%201.pdf"; // as sent: "scan 1.pdf"
const PATH = `/aws/storage/${ACCOUNT_ID}/${BUCKET}/${KEY_PATH}`;
const EXPECTED_HOST = `${BUCKET}.s3.${ACCOUNT.region}.amazonaws.com`;
const EXPECTED_PATH = `/${KEY_PATH}`;
const EXPIRES_IN = 86400;
const EXPECTED = { host: EXPECTED_HOST, path: EXPECTED_PATH, region: ACCOUNT.region, credentials: CREDENTIALS, expiresIn: EXPIRES_IN };

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// ---------------------------------------------------------------------------------------------
// Servers

interface Contender {
  id: string;
  name: string;
  server: Server;
}

const tempDirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), `signpost-bench-${prefix}-`));
  tempDirs.push(dir);
  return dir;
};

function startSignpost(name: string, env: Record<string, string> = {}, cwd = ROOT): Promise<Server> {
  return startServer(name, "npm", ["start", "--silent"], { SIGNPOST_DATA_DIR: tempDir("data"), SIGNPOST_ADMIN_TOKEN: TOKEN, ...env }, "src/runtime/node.ts", cwd);
}

const tsxServer = (name: string, file: string, env: Record<string, string>, nodeOptions: string[] = []) =>
  startServer(name, process.execPath, [...nodeOptions, "--import", "tsx", file], env, file);

async function api(base: string, method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

// ---------------------------------------------------------------------------------------------
// Correctness first

async function verify(contenders: Contender[], signpostBody: string): Promise<void> {
  const failures: string[] = [];
  for (const { id, name, server } of contenders) {
    const answer = await api(server.url, "GET", PATH);
    if (answer.status !== 200) {
      failures.push(`${name}: status ${answer.status}: ${answer.text}`);
      continue;
    }
    if (id === "floor" || id === "control") {
      if (answer.text.length !== signpostBody.length) failures.push(`floor: body of ${answer.text.length} bytes, signpost's has ${signpostBody.length}`);
      continue;
    }
    const body = JSON.parse(answer.text) as { url: string; "expires-at": string };
    failures.push(...(await checkPresignedGet(name, body.url, { ...EXPECTED, extraQuery: id === "sdk" ? SDK_EXTRA_QUERY : {} })));
    const expiresAt = Date.parse(body["expires-at"]);
    if (!(Math.abs(expiresAt - Date.now() - EXPIRES_IN * 1000) < 60_000)) failures.push(`${name}: expires-at ${body["expires-at"]}`);
    const anonymous = await api(server.url, "GET", PATH, undefined, null);
    if (anonymous.status !== 401) failures.push(`${name}: ${anonymous.status} without a token, not 401`);
    const wrong = await api(server.url, "GET", PATH, undefined, `${TOKEN}x`);
    if (wrong.status !== 401) failures.push(`${name}: ${wrong.status} with a wrong token, not 401`);
  }
  if (failures.length) throw new Error(`servers disagree; not benchmarking:\n${failures.join("\n")}`);
}

// ---------------------------------------------------------------------------------------------
// Timing

interface Run {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU time per request, µs. */
  cpuMicros: number;
  /** The part of it spent in the kernel (system time): sends, receives, wake-ups. */
  systemMicros: number;
  /** Share of one core the server used. */
  serverCores: number;
  /** Share of one core this process (autocannon) used. */
  clientCores: number;
  /** Context switches of autocannon's thread per request: how often an answer found the client asleep and woke it. */
  clientWakeups: number;
}

async function load(server: Server, seconds: number): Promise<Run> {
  const latencies: number[] = [];
  const cpuBefore = processCpuSplit(server.pid);
  const ownBefore = process.cpuUsage();
  const switchesBefore = contextSwitches("self");
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: `${server.url}${PATH}`, connections: CONNECTIONS, pipelining: 1, duration: seconds, headers: { authorization: `Bearer ${TOKEN}` } },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      if (status === 200) latencies.push(ms);
    });
  });
  const wall = (performance.now() - started) * 1000;
  const own = process.cpuUsage(ownBefore);
  const switches = contextSwitches("self") - switchesBefore;
  const cpuAfter = processCpuSplit(server.pid);
  const systemCpu = cpuAfter.system - cpuBefore.system;
  const cpu = cpuAfter.user - cpuBefore.user + systemCpu;
  const total = result.requests.total;
  if (result.non2xx || result.errors || result.timeouts || total === 0) {
    throw new Error(`${server.name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts of ${total}`);
  }
  return {
    requests: total,
    rps: total / (result.duration || seconds),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    cpuMicros: cpu / total,
    systemMicros: systemCpu / total,
    serverCores: cpu / wall,
    clientCores: (own.user + own.system) / wall,
    clientWakeups: switches / total,
  };
}

const round2 = (value: number) => Math.round(value * 100) / 100;

async function main(): Promise<void> {
  const started = performance.now();
  const servers: Server[] = [];
  const cleanup = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    log("starting servers...");
    const signpost = await startSignpost("signpost");
    servers.push(signpost);
    const uncached = await startSignpost("signpost, no cache", { SIGNPOST_ACCOUNT_CACHE_MS: "0" });
    servers.push(uncached);
    // `deno task start` (src/runtime/deno-start.ts runs deno.ts with the permissions it computes): its CPU is deno.ts's.
    const onDeno = !DENO ? undefined : await startServer("signpost on Deno", "node_modules/.bin/deno", ["task", "start"], { SIGNPOST_DATA_DIR: tempDir("deno"), SIGNPOST_ADMIN_TOKEN: TOKEN }, "src/runtime/deno.ts");
    if (onDeno) servers.push(onDeno);
    for (const server of [signpost, uncached, ...(onDeno ? [onDeno] : [])]) {
      const created = await api(server.url, "PUT", `/AwsAccount/${ACCOUNT_ID}`, ACCOUNT);
      if (created.status !== 201) throw new Error(`${server.name}: PUT /AwsAccount answered ${created.status}: ${created.text}`);
    }
    if (!/"cacheMs":0\b/.test(uncached.stderr())) throw new Error(`signpost did not take SIGNPOST_ACCOUNT_CACHE_MS=0:\n${uncached.stderr()}`);
    let compared: Server | undefined;
    if (COMPARE) {
      compared = await startSignpost("signpost (compared)", {}, resolve(COMPARE));
      servers.push(compared);
      const created = await api(compared.url, "PUT", `/AwsAccount/${ACCOUNT_ID}`, ACCOUNT);
      if (created.status !== 201) throw new Error(`${compared.name}: PUT /AwsAccount answered ${created.status}: ${created.text}`);
    }
    const sample = await api(signpost.url, "GET", PATH);
    const sdk = await tsxServer("SDK baseline", "bench/servers/sdk-baseline.ts", {
      BENCH_TOKEN: TOKEN,
      BENCH_ACCOUNTS: JSON.stringify({ [ACCOUNT_ID]: ACCOUNT }),
    });
    servers.push(sdk);
    const floor = await tsxServer("HTTP floor", "bench/servers/floor.ts", { BENCH_BODY: sample.text });
    servers.push(floor);
    const control = CONTROL_US === undefined ? undefined : await tsxServer("HTTP floor + spin", "bench/servers/floor.ts", { BENCH_BODY: sample.text, BENCH_SPIN_US: String(CONTROL_US), BENCH_PER_TURN: CONTROL_PER_TURN ? "1" : "" });
    if (control) servers.push(control);

    const contenders: Contender[] = [
      { id: "signpost", name: "signpost (cache warm)", server: signpost },
      { id: "signpost-nocache", name: "signpost (no cache: KV read)", server: uncached },
      ...(onDeno ? [{ id: "signpost-deno", name: "signpost on Deno (cache warm)", server: onDeno }] : []),
      { id: "sdk", name: "SDK baseline (s3-request-presigner)", server: sdk },
      { id: "floor", name: "HTTP floor (constant JSON)", server: floor },
      ...(compared ? [{ id: "compared", name: `signpost from ${COMPARE} (cache warm)`, server: compared }] : []),
      ...(control ? [{ id: "control", name: `HTTP floor + ${CONTROL_US} µs spin${CONTROL_PER_TURN ? ", answers per turn" : ""} (control)`, server: control }] : []),
    ];
    await verify(contenders, sample.text);
    log(`verified ${contenders.length} servers (signatures by smithy and ours, 401s, floor body ${sample.text.length} bytes); warming up...`);
    for (const contender of contenders) await load(contender.server, WARMUP_S);

    const runs = new Map<string, Run[]>(contenders.map((c) => [c.id, []]));
    for (let round = 0; round < ROUNDS; round++) {
      log(`round ${round + 1}/${ROUNDS}...`);
      for (let i = 0; i < contenders.length; i++) {
        const contender = contenders[(i + round) % contenders.length]!;
        runs.get(contender.id)!.push(await load(contender.server, DURATION_S));
      }
    }

    const med = (id: string, field: keyof Run) => median(runs.get(id)!.map((run) => run[field]));
    const results = contenders.map(({ id, name }) => ({
      id,
      name,
      requestsPerSecond: Math.round(med(id, "rps")),
      p50Ms: round2(med(id, "p50")),
      p99Ms: round2(med(id, "p99")),
      cpuMicrosPerRequest: round2(med(id, "cpuMicros")),
      systemMicrosPerRequest: round2(med(id, "systemMicros")),
      serverCores: round2(med(id, "serverCores")),
      clientCores: round2(med(id, "clientCores")),
      clientWakeupsPerRequest: round2(med(id, "clientWakeups")),
      rounds: runs.get(id)!.map((run) => Math.round(run.rps)),
    }));
    const ratioOf = (a: string, b: string, field: "rps" | "cpuMicros") =>
      median(runs.get(a)!.map((run, i) => (field === "rps" ? run.rps / runs.get(b)![i]!.rps : runs.get(b)![i]!.cpuMicros / run.cpuMicros)));
    const ratios = [
      { name: "signpost vs SDK baseline", of: "signpost", vs: "sdk", target: 8 },
      { name: "signpost vs HTTP floor", of: "signpost", vs: "floor", target: 0.5 },
      { name: "signpost (no cache) vs SDK baseline", of: "signpost-nocache", vs: "sdk", target: 8 },
      { name: "signpost (no cache) vs HTTP floor", of: "signpost-nocache", vs: "floor", target: 0.5 },
      { name: "signpost (no cache) vs signpost (cache warm)", of: "signpost-nocache", vs: "signpost" },
      ...(onDeno ? [{ name: "signpost on Deno vs SDK baseline (on Node)", of: "signpost-deno", vs: "sdk" }, { name: "signpost on Deno vs HTTP floor (on Node)", of: "signpost-deno", vs: "floor" }] : []),
      ...(compared ? [{ name: `signpost from ${COMPARE} vs signpost`, of: "compared", vs: "signpost" }] : []),
    ].map((r: { name: string; of: string; vs: string; target?: number }) => {
      const value = ratioOf(r.of, r.vs, "rps");
      const cpuValue = ratioOf(r.of, r.vs, "cpuMicros");
      return { ...r, value: round2(value), cpuValue: round2(cpuValue), pass: r.target === undefined ? undefined : value >= r.target, cpuPass: r.target === undefined ? undefined : cpuValue >= r.target };
    });
    const floorCpu = med("floor", "cpuMicros");
    const overhead = {
      cacheWarm: round2(med("signpost", "cpuMicros") - floorCpu),
      noCache: round2(med("signpost-nocache", "cpuMicros") - floorCpu),
      floor: round2(floorCpu),
    };

    let profiles: Record<string, Profiled> | undefined;
    if (PROFILE) profiles = await profileRuns(sample.text);

    const elapsedSeconds = (performance.now() - started) / 1000;
    const config = { node: process.version, host: hostLine(), connections: CONNECTIONS, pipelining: 1, durationSeconds: DURATION_S, rounds: ROUNDS };
    if (JSON_OUTPUT) {
      console.log(JSON.stringify({ ...config, elapsedSeconds: round2(elapsedSeconds), results, ratios, overheadCpuMicros: overhead, profiles }, null, 2));
      return;
    }
    console.log(`\nHTTP, Node ${process.version} on ${hostLine()}: autocannon, ${CONNECTIONS} connections, pipelining 1, ${ROUNDS} rounds x ${DURATION_S} s, medians\n`);
    console.log(
      table(
        ["server", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "of it system", "server cores", "client cores", "client wake-ups/req", "req/s per round"],
        results.map((r) => [r.name, fmt(r.requestsPerSecond), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), r.cpuMicrosPerRequest.toFixed(1), r.systemMicrosPerRequest.toFixed(1), r.serverCores.toFixed(2), r.clientCores.toFixed(2), r.clientWakeupsPerRequest.toFixed(2), r.rounds.map((n) => fmt(n)).join(" / ")]),
      ),
    );
    console.log("");
    const width = Math.max(...ratios.map((r) => r.name.length));
    for (const r of ratios) {
      console.log(`${r.name.padEnd(width)}  ${r.value.toFixed(2).padStart(6)}x  (by CPU time ${r.cpuValue.toFixed(2)}x)${verdict(r.value, r.target)}`);
    }
    console.log(
      `\nserver CPU per request above the floor's ${overhead.floor} µs: ${overhead.cacheWarm} µs with the cache warm (${fmt((100 * overhead.cacheWarm) / overhead.floor)}% of a bare request), ${overhead.noCache} µs without (${fmt((100 * overhead.noCache) / overhead.floor)}%)`,
    );
    if (control) {
      const above = med("control", "cpuMicros") - floorCpu;
      console.log(`control: the floor spinning ${CONTROL_US} µs per request costs ${fmt(above)} µs of CPU per request above the floor, ${fmt(above - CONTROL_US!)} µs more than it spins`);
    }
    if (profiles) printProfiles(profiles);
    console.log(`\n(${elapsedSeconds.toFixed(1)} s)`);
  } finally {
    await cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// Profiles: one more run of signpost and of the floor under --cpu-prof

type Profiled = ReturnType<typeof summarizeProfile> & { requests: number };

async function profileRuns(body: string): Promise<Record<string, Profiled>> {
  const dir = option("profile") ?? tempDir("profiles");
  const out: Record<string, Profiled> = {};
  const cpuProf = ["--cpu-prof", `--cpu-prof-dir=${dir}`];
  const profiledSignpost = (cacheMs: string) => async () => {
    const env = { SIGNPOST_DATA_DIR: tempDir("data"), SIGNPOST_ADMIN_TOKEN: TOKEN, SIGNPOST_ACCOUNT_CACHE_MS: cacheMs };
    const server = await startServer("signpost (profiled)", "sh", ["-c", profiledStartCommand(dir)], env, "src/runtime/node.ts");
    const created = await api(server.url, "PUT", `/AwsAccount/${ACCOUNT_ID}`, ACCOUNT);
    if (created.status !== 201) throw new Error(`PUT /AwsAccount answered ${created.status}`);
    return server;
  };
  const targets: [string, () => Promise<Server>][] = [
    ["signpost (cache warm)", profiledSignpost("5000")],
    ["signpost (no cache)", profiledSignpost("0")],
    ["floor", () => tsxServer("HTTP floor (profiled)", "bench/servers/floor.ts", { BENCH_BODY: body }, cpuProf)],
  ];
  for (const [id, start] of targets) {
    log(`profiling ${id}...`);
    const server = await start();
    let from = 0;
    let to = 0;
    let requests = 0;
    try {
      await load(server, WARMUP_S);
      from = Number(process.hrtime.bigint() / 1000n);
      requests = (await load(server, DURATION_S)).requests;
      to = Number(process.hrtime.bigint() / 1000n);
    } finally {
      await server.stop();
    }
    const file = profileOf(dir, server.pid);
    out[id] = { ...summarizeProfile(file, { from, to }), requests }; // the timed run only: no start-up, set-up or warm-up
    log(`${id}: ${file}`);
  }
  return out;
}

function printProfiles(profiles: Record<string, Profiled>): void {
  for (const [id, summary] of Object.entries(profiles)) printProfile(id, summary, summary.requests);
}

await main();
