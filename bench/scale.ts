// Cost per URL in one process as the account table and the object keys grow: the app from createApp, called with
// app.request() (no sockets), its accounts in @deno/kv files as on Node.
//
//   npx tsx bench/scale.ts [--json] [--duration=ms] [--accounts=1,1000,100000]
//
// Three KV files hold 1, 1,000 and 100,000 accounts (each with its own keys), written straight into the KV file in
// atomic batches, in the store's own layout (checked against a store.put), rather than over HTTP. Every timed request is a GET presign with the admin token,
// and the request log is on (each entry JSON-serialised, as on Node, into a counter instead of stdout). Modes:
//   warm    the account cache on (as `npm start`), requests cycling over 100 accounts (or all, if fewer), read
//           once right before each timed run (the cache keeps entries 5 s)
//   cold    no cache: every request reads its account from the KV file (SQLite)
//   spread  the cache on, each request for a random account of the whole table, after as many untimed random
//           requests as it takes to see nearly every account (3 per account, up to the cache's 10,000 entries): what
//           the account, opened-secret and derived-key caches give when traffic is spread over many accounts
// Key length: the warm path on the 1-account file with keys of 10, 100 and 1000 bytes.
// In-process floor: Hono answering the same route with a constant JSON of the same size, through app.request().
// Before timing, each mode's URLs are checked (signature recomputed by @smithy/signature-v4). Then a warm-up, and
// 9 interleaved rounds of a fixed duration (default 250 ms: short runs, so the modes compared in one round see the
// same background load): median µs per URL, CPU µs per URL, and growth ratios
// (median of per-round ratios) against 1 account / 10-byte keys.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { openKv } from "@deno/kv";
import { Hono } from "hono";
import type { AwsAccount } from "../src/domain/account.ts";
import { createApp } from "../src/app.ts";
import type { Client } from "../src/domain/client.ts";
import type { CredentialProvider } from "../src/credentials/provider.ts";
import { nodeSha256 } from "../src/runtime/node-crypto.ts";
import { createSealer, type Sealer } from "../src/crypto/seal.ts";
import { createPresigner } from "../src/aws/signer.ts";
import { ACCOUNT_CACHE_MS, cachedStore } from "../src/store/cache.ts";
import { denoKvStore } from "../src/store/kv.ts";
import { memoryStore } from "../src/store/memory.ts";
import type { ResourceStore } from "../src/store/store.ts";
import { signedBy } from "../test/verify-url.ts";
import { fmt, hostLine, median, table } from "./lib.ts";

const args = process.argv.slice(2);
const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const JSON_OUTPUT = args.includes("--json");
const DURATION_MS = Number(option("duration") ?? 250);
const SIZES = (option("accounts") ?? "1,1000,100000").split(",").map(Number);
const KEY_LENGTHS = [10, 100, 1000];
const WORKING_SET = 100;
const ROUNDS = 9;
const WARMUP_MS = 300;
const BATCH = 500; // mutations per atomic commit (Deno KV allows up to 1000)
const log = (message: string) => {
  if (!JSON_OUTPUT) console.error(message);
};

const TOKEN = "bench-admin-token-0123456789abcdef";
const HEADERS = { authorization: `Bearer ${TOKEN}` };
const BUCKET = "signpost-bench";
const REGION = "eu-central-1";

const accountId = (i: number) => `acct-${String(i).padStart(6, "0")}`;
const accessKeyId = (i: number) => `AKIABENCH${String(i).padStart(11, "0")}`;
const secretOf = (i: number) => `bench/secret/${String(i).padStart(8, "0")}/wJalrXUtnFEMI/K7MDENG`;

/** A key of exactly `bytes` ASCII bytes: 15-character segments with a space in each (so encoding has work to do). */
function keyOf(bytes: number, salt: number): string {
  let key = "";
  for (let segment = 0; key.length < bytes; segment++) {
    if (key) key += "/";
    key += `d${salt}x${segment} scan-0123456789abcdef`.slice(0, 15);
  }
  return key.slice(0, bytes).replace(/[/ ]$/, "z");
}
const pathOf = (key: string) => key.split("/").map(encodeURIComponent).join("/");

// ---------------------------------------------------------------------------------------------
// Set-up: KV files and apps

const noDefaultCredentials: CredentialProvider = async () => {
  throw new Error("no default credentials in the bench");
};

// Secrets are sealed at rest (AES-256-GCM), as every runtime stores them.
const sealer: Sealer = await createSealer(Buffer.alloc(32, 7).toString("base64"));

let logSink = 0;
function app(store: ResourceStore<AwsAccount>, clients: ResourceStore<Client>): Hono<any> {
  return createApp({
    store,
    clients,
    introspectors: memoryStore(),
    sealer,
    credentials: noDefaultCredentials,
    presigner: createPresigner(nodeSha256),
    config: { adminToken: TOKEN },
    log: (entry) => {
      logSink += `${JSON.stringify(entry)}\n`.length; // what node.ts writes to stdout, minus the write
    },
  });
}

const accountRecord = (i: number, sealedSecret: string, lastUpdated: string): AwsAccount => ({
  resourceType: "AwsAccount",
  id: accountId(i),
  region: REGION,
  "access-key-id": accessKeyId(i),
  "secret-access-key": sealedSecret,
  "path-style": false,
  "use-ssl": true,
  meta: { versionId: "1", lastUpdated },
});

type Kv = Awaited<ReturnType<typeof openKv>>;

/**
 * Writes `count` accounts (secrets sealed) in atomic batches of BATCH, as the store lays them out ([resourceType, id] ->
 * JSON bytes): 100,000 store.put calls (a read and a checked commit each) take ~25 s here, batches a few. Then proves the layout:
 * the bytes of account 0 must not change when the store itself writes the same account over them.
 */
async function fill(kv: Kv, store: ResourceStore<AwsAccount>, count: number): Promise<number> {
  const started = performance.now();
  const lastUpdated = new Date().toISOString();
  const encoder = new TextEncoder();
  let first0 = "";
  for (let first = 0; first < count; first += BATCH) {
    const ids = Array.from({ length: Math.min(count, first + BATCH) - first }, (_, k) => first + k);
    const sealed = await Promise.all(ids.map((i) => sealer.seal(secretOf(i), `AwsAccount/${accountId(i)}`)));
    first0 ||= sealed[0]!;
    let op = kv.atomic();
    ids.forEach((i, k) => (op = op.set(["AwsAccount", accountId(i)], encoder.encode(JSON.stringify(accountRecord(i, sealed[k]!, lastUpdated))))));
    if (!(await op.commit()).ok) throw new Error("batch write refused");
  }
  const ms = performance.now() - started;
  const raw = async () => Buffer.from((await kv.get<Uint8Array>(["AwsAccount", accountId(0)])).value ?? []).toString("hex");
  const bulk = await raw();
  await store.put(accountId(0), () => accountRecord(0, first0, lastUpdated));
  if ((await raw()) !== bulk) throw new Error("the batch writes do not lay accounts out as denoKvStore does");
  return ms;
}

interface Contender {
  id: string;
  name: string;
  group: "accounts" | "keys" | "floor";
  /** The request for the i-th call. */
  request: (i: number) => Response | Promise<Response>;
  /**
   * Requests made untimed right before each timed run: the account cache keeps entries 5 s and the runs of other
   * modes come between two runs of one mode, so without this every run would start with a cold cache.
   */
  prime?: number;
  /** Account index and key used by the i-th call, for verification. */
  target?: (i: number) => { account: number; key: string };
}

// ---------------------------------------------------------------------------------------------
// Timing (as bench/signer.ts: full GC before each run, fixed duration, sequential calls)

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;
let sink = 0;

async function measure(contender: Contender, ms: number): Promise<{ micros: number; cpuMicros: number }> {
  for (let i = 0; i < (contender.prime ?? 0); i++) sink += (await contender.request(i + 1_000_000)).status;
  collectGarbage();
  let ops = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  let now = start;
  do {
    for (let k = 0; k < 32; k++) {
      // The body is built (JSON.stringify in the app) but not read back: reading a Response through its stream
      // costs more than building it, and @hono/node-server does not do that either (it takes the string).
      sink += (await contender.request(ops++)).status;
    }
    now = performance.now();
  } while (now < end);
  const cpu = process.cpuUsage(cpuStart);
  return { micros: ((now - start) * 1000) / ops, cpuMicros: (cpu.user + cpu.system) / ops };
}

async function verify(contenders: Contender[]): Promise<void> {
  const failures: string[] = [];
  for (const contender of contenders) {
    if (!contender.target) continue;
    for (const i of [0, 1, 7, 12345]) {
      const response = await contender.request(i);
      const text = await response.text();
      if (response.status !== 200) {
        failures.push(`${contender.name}: ${response.status} ${text}`);
        continue;
      }
      const { account, key } = contender.target(i);
      const url = new URL((JSON.parse(text) as { url: string }).url);
      if (url.host !== `${BUCKET}.s3.${REGION}.amazonaws.com` || url.pathname !== `/${pathOf(key).replaceAll("!", "%21")}`) {
        failures.push(`${contender.name}: ${url.href} is not for key ${JSON.stringify(key)}`);
      }
      if (!(await signedBy(url.href, "GET", { accessKeyId: accessKeyId(account), secretAccessKey: secretOf(account) }))) {
        failures.push(`${contender.name}: signature of ${url.href} does not check (account ${accountId(account)})`);
      }
    }
  }
  if (failures.length) throw new Error(`wrong URLs; not benchmarking:\n${failures.join("\n")}`);
}

async function main(): Promise<void> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "signpost-bench-scale-"));
  const kvs: { close(): void }[] = [];
  try {
    const contenders: Contender[] = [];
    const inserts: { accounts: number; seconds: number; perAccountMicros: number }[] = [];
    const shortKey = keyOf(10, 0);
    let floorBody = "";
    let rng = 12345;
    const random = () => ((rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0) / 2 ** 32); // LCG mod 2^32, high bits

    for (const size of SIZES) {
      const kv = await openKv(join(dir, `accounts-${size}.kv`));
      kvs.push(kv);
      const store = denoKvStore<AwsAccount>(kv, "AwsAccount");
      const clients = cachedStore(denoKvStore<Client>(kv, "Client"), ACCOUNT_CACHE_MS);
      log(`writing ${fmt(size)} accounts...`);
      const ms = await fill(kv, store, size);
      inserts.push({ accounts: size, seconds: ms / 1000, perAccountMicros: (ms * 1000) / size });
      const warm = app(cachedStore(store, ACCOUNT_CACHE_MS), clients);
      const cold = app(store, clients);
      const working = Math.min(size, WORKING_SET);
      const get = (target: Hono<any>, account: number, key: string) =>
        target.request(`http://signpost.local/aws/storage/${accountId(account)}/${BUCKET}/${pathOf(key)}`, { headers: HEADERS });
      const spreadAccounts = new Uint32Array(1 << 16).map(() => Math.floor(random() * size));
      const label = `${fmt(size)} account${size === 1 ? "" : "s"}`;
      contenders.push(
        {
          id: `warm-${size}`,
          name: `${label}, cache warm`,
          group: "accounts",
          request: (i) => get(warm, i % working, shortKey),
          prime: working,
          target: (i) => ({ account: i % working, key: shortKey }),
        },
        { id: `cold-${size}`, name: `${label}, no cache (KV read)`, group: "accounts", request: (i) => get(cold, i % working, shortKey), target: (i) => ({ account: i % working, key: shortKey }) },
        {
          id: `spread-${size}`,
          name: `${label}, cache on, random account`,
          group: "accounts",
          request: (i) => get(warm, spreadAccounts[i & 0xffff]!, shortKey),
          // Up to the cache's size, enough requests to have seen nearly every account; past it, a steady state of misses.
          prime: size <= 10_000 ? 3 * size : 2_000,
          target: (i) => ({ account: spreadAccounts[i & 0xffff]!, key: shortKey }),
        },
      );
      if (size === SIZES[0]) {
        for (const bytes of KEY_LENGTHS) {
          const keys = Array.from({ length: 16 }, (_, salt) => keyOf(bytes, salt));
          if (keys.some((key) => new TextEncoder().encode(key).length !== bytes)) throw new Error(`key of ${bytes} bytes: wrong length`);
          contenders.push({
            id: `key-${bytes}`,
            name: `key of ${fmt(bytes)} bytes, cache warm`,
            group: "keys",
            request: (i) => get(warm, 0, keys[i & 15]!),
            prime: 1,
            target: (i) => ({ account: 0, key: keys[i & 15]! }),
          });
        }
        floorBody = await (await get(warm, 0, shortKey)).text();
      }
    }
    // In-process floor: the framework alone, same route, a constant body of the same size.
    const floor = new Hono();
    const floorHeaders = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };
    floor.get("/aws/storage/:account/:bucket/*", () => new Response(floorBody, { status: 200, headers: floorHeaders }));
    contenders.push({
      id: "floor",
      name: "Hono floor (constant JSON)",
      group: "floor",
      request: () => floor.request(`http://signpost.local/aws/storage/${accountId(0)}/${BUCKET}/${pathOf(shortKey)}`, { headers: HEADERS }),
    });

    await verify(contenders);
    log(`verified ${contenders.length - 1} modes (signatures by smithy); warming up...`);
    for (const contender of contenders) await measure(contender, WARMUP_MS);
    const samples = new Map<string, { micros: number; cpuMicros: number }[]>(contenders.map((c) => [c.id, []]));
    for (let round = 0; round < ROUNDS; round++) {
      log(`round ${round + 1}/${ROUNDS}...`);
      for (let i = 0; i < contenders.length; i++) {
        const contender = contenders[(i + round) % contenders.length]!;
        samples.get(contender.id)!.push(await measure(contender, DURATION_MS));
      }
    }

    const round2 = (value: number) => Math.round(value * 100) / 100;
    const base = (c: Contender) => (c.group === "keys" ? "key-10" : c.id.replace(/-\d+$/, `-${SIZES[0]}`));
    const growth = (id: string, vs: string) => median(samples.get(id)!.map((s, i) => s.micros / samples.get(vs)![i]!.micros));
    const results = contenders.map((c) => ({
      id: c.id,
      name: c.name,
      microsPerUrl: round2(median(samples.get(c.id)!.map((s) => s.micros))),
      cpuMicrosPerUrl: round2(median(samples.get(c.id)!.map((s) => s.cpuMicros))),
      urlsPerSecond: Math.round(1e6 / median(samples.get(c.id)!.map((s) => s.micros))),
      growth: c.group === "floor" ? undefined : round2(growth(c.id, base(c))),
      vsFloor: round2(median(samples.get(c.id)!.map((s, i) => samples.get("floor")![i]!.micros / s.micros))),
      rounds: samples.get(c.id)!.map((s) => round2(s.micros)),
    }));
    const elapsedSeconds = (performance.now() - started) / 1000;
    if (JSON_OUTPUT) {
      console.log(JSON.stringify({ node: process.version, durationMs: DURATION_MS, rounds: ROUNDS, elapsedSeconds: round2(elapsedSeconds), inserts, results }, null, 2));
      return;
    }
    console.log(`\nScale, in process (app.request), Node ${process.version} on ${hostLine()}: ${ROUNDS} rounds x ${DURATION_MS} ms, medians\n`);
    console.log(`accounts written in atomic batches of ${BATCH}: ${inserts.map((i) => `${fmt(i.accounts)} in ${i.seconds.toFixed(2)} s (${i.perAccountMicros.toFixed(0)} µs each)`).join(", ")}\n`);
    console.log(
      table(
        ["mode", "µs/URL", "CPU µs/URL", "URLs/s", "growth", "floor/this", "µs/URL per round"],
        results.map((r) => [r.name, r.microsPerUrl.toFixed(1), r.cpuMicrosPerUrl.toFixed(1), fmt(r.urlsPerSecond), r.growth === undefined ? "" : `${r.growth.toFixed(2)}x`, `${r.vsFloor.toFixed(2)}x`, r.rounds.map((n) => n.toFixed(1)).join(" / ")]),
      ),
    );
    console.log(`\ngrowth: µs/URL against the same mode with ${fmt(SIZES[0]!)} account(s), or against 10-byte keys; floor/this: the in-process Hono floor's µs over this one's`);
    console.log(`\n(${elapsedSeconds.toFixed(1)} s; checksum ${(sink + logSink) % 997})`);
  } finally {
    for (const kv of kvs) kv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
