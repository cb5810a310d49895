// Presigned URLs per second: our signer against the usual alternatives, in one process.
//
//   npx tsx bench/signer.ts [--json] [--duration=ms] [--only=id,id]      (npm run bench)
//
// Every contender signs the same PUT requests (same 256 keys, date, credentials, region, host). Before any timing,
// each one's URLs for 16 keys are checked against ours: identical, or, for aws4fetch (URLSearchParams order and
// encoding) and the SDK presigner (two extra signed parameters), reproduced exactly by our signer from the same
// parameters. Then: warm-up, and 3 interleaved rounds of a fixed duration each (default 1200 ms, full GC before
// each run); the table shows median URLs/s, and each ratio is the median of its per-round ratios. CPU time per URL
// is shown too (process-wide, so Web Crypto's thread-pool work counts). On a shared or SMT machine both numbers
// move with other load: compare ratios, and rerun when the rounds disagree.
// Targets (printed as PASS/MISS, not asserted): Node path >= 0.7x the node:crypto floor, >= 4x smithy
// (hash-node), >= 15x aws4fetch. --only keeps the listed contender ids (plus ours-node), for quick looks.
import { createHmac, createSecretKey, hash as oneShotHash, type KeyObject } from "node:crypto";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Hash } from "@smithy/hash-node";
import { Sha256 } from "@aws-crypto/sha256-js";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createPresigner, encodeRfc3986, webCryptoSha256, type PresignRequest } from "../src/aws/signer.ts";
import { nodeSha256 } from "../src/runtime/node-crypto.ts";
import { hostLine } from "./lib.ts";

const args = process.argv.slice(2);
const JSON_OUTPUT = args.includes("--json");
const DURATION_MS = Number(args.find((a) => a.startsWith("--duration="))?.split("=")[1] ?? 1200);
const ONLY = args.find((a) => a.startsWith("--only="))?.split("=")[1]?.split(",");
const WARMUP_MS = Math.min(400, DURATION_MS / 2);
const ROUNDS = 3;
const IN_FLIGHT = 1000;

// The SDK warns once on Node < 22; that is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// ---------------------------------------------------------------------------------------------
// Shared inputs

const REGION = "eu-central-1";
const BUCKET = "signpost-bench";
const HOST = `${BUCKET}.s3.${REGION}.amazonaws.com`;
const PROTOCOL = "https:";
const METHOD = "PUT";
const EXPIRES_IN = 3600;
const DATE = new Date("2026-01-02T03:04:05Z");
const AMZ_DATE = "20260102T030405Z";
const CREDENTIALS = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};

const KEY_COUNT = 256; // power of two: index with `i & KEY_MASK`
const KEY_MASK = KEY_COUNT - 1;
const KEYS = Array.from({ length: KEY_COUNT }, (_, i) => {
  const id = ((i * 2654435761) >>> 0).toString(16).padStart(8, "0");
  const name = ["photo", "scan", "résumé", "отчёт", "報告"][i % 5];
  return `patients/${id}/attachments/${name} ${i}.${i % 2 ? "pdf" : "jpg"}`;
});
const PATHS = KEYS.map((key) => `/${key.split("/").map(encodeRfc3986).join("/")}`);

const request = (i: number): PresignRequest => ({
  method: METHOD,
  protocol: PROTOCOL,
  host: HOST,
  path: PATHS[i & KEY_MASK]!,
  region: REGION,
  credentials: CREDENTIALS,
  expiresIn: EXPIRES_IN,
  date: DATE,
});

/** Lays a signed query out as our signer does: RFC 3986, sorted by encoded name, signature last. */
function formatUrl(protocol: string, host: string, path: string, query: Record<string, string>): string {
  const pairs: [string, string][] = [];
  for (const name in query) if (name !== "X-Amz-Signature") pairs.push([encodeRfc3986(name), encodeRfc3986(query[name]!)]);
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let search = "";
  for (const [name, value] of pairs) search += `${name}=${value}&`;
  return `${protocol}//${host}${path}?${search}X-Amz-Signature=${query["X-Amz-Signature"]}`;
}

const parseQuery = (url: URL): Record<string, string> => Object.fromEntries(url.searchParams);

// ---------------------------------------------------------------------------------------------
// Contenders

interface Contender {
  id: string;
  name: string;
  /** Sign request i and return its URL (as a string the caller could hand out). */
  sign(i: number): string | Promise<string>;
  /** Calls kept in flight at once (default 1: sequential, awaiting each). */
  inFlight?: number;
}

const oursNode = createPresigner(nodeSha256);
// Code isolation: a deployment runs one signer with one hash. Sharing code between contenders (ours with two hash
// back ends, smithy with two, aws4fetch's client and signer, smithy inside the SDK) would make their call sites
// polymorphic and slow each other down, so every contender gets its own copy of the module it runs.
const require = createRequire(import.meta.url);
function isolatedCopy<T>(id: string): T {
  const path = require.resolve(id);
  const previous = require.cache[path];
  delete require.cache[path];
  try {
    return require(id) as T;
  } finally {
    if (previous) require.cache[path] = previous;
    else delete require.cache[path];
  }
}
type SmithyModule = typeof import("@smithy/signature-v4");
type Aws4fetchModule = typeof import("aws4fetch");
const signerModuleForWeb: typeof import("../src/aws/signer.ts") = await import(
  new URL("../src/aws/signer.ts?instance=web-crypto", import.meta.url).href
);
const oursWeb = signerModuleForWeb.createPresigner(signerModuleForWeb.webCryptoSha256());

// node:crypto floor: everything straight-line, signing key derived once per day, nothing generic, the one-shot hash.
// This is the least work a correct presign can do on Node (one SHA-256, one HMAC, string building).
let floorDay = "";
let floorKey: KeyObject | undefined;
const FLOOR_CREDENTIAL_PREFIX = `${CREDENTIALS.accessKeyId}%2F`; // access key ids are [A-Z0-9]
function floorPresign(path: string, date: Date): string {
  const iso = date.toISOString(); // 2026-01-02T03:04:05.000Z
  const day = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
  const time = `${day}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  if (day !== floorDay) {
    let k: Buffer = createHmac("sha256", `AWS4${CREDENTIALS.secretAccessKey}`).update(day).digest();
    for (const part of [REGION, "s3", "aws4_request"]) k = createHmac("sha256", k).update(part).digest();
    floorKey = createSecretKey(k);
    floorDay = day;
  }
  const scope = `${day}/${REGION}/s3/aws4_request`;
  const query =
    `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${FLOOR_CREDENTIAL_PREFIX}${day}%2F${REGION}%2Fs3%2Faws4_request` +
    `&X-Amz-Date=${time}&X-Amz-Expires=${EXPIRES_IN}&X-Amz-SignedHeaders=host`;
  const hash = oneShotHash("sha256", `${METHOD}\n${path}\n${query}\nhost:${HOST}\n\nhost\nUNSIGNED-PAYLOAD`, "hex");
  const signature = createHmac("sha256", floorKey!)
    .update(`AWS4-HMAC-SHA256\n${time}\n${scope}\n${hash}`)
    .digest("hex");
  return `${PROTOCOL}//${HOST}${path}?${query}&X-Amz-Signature=${signature}`;
}

const SMITHY_OPTIONS = {
  signingDate: DATE,
  expiresIn: EXPIRES_IN,
  unhoistableHeaders: new Set(["x-amz-content-sha256"]),
  unsignableHeaders: new Set(["x-amz-content-sha256"]),
};
function smithyContender(id: string, name: string, sha256: any): Contender {
  const { SignatureV4 } = isolatedCopy<SmithyModule>("@smithy/signature-v4");
  const signer = new SignatureV4({ service: "s3", region: REGION, credentials: CREDENTIALS, sha256, uriEscapePath: false });
  return {
    id,
    name,
    async sign(i) {
      const path = PATHS[i & KEY_MASK]!;
      const presigned = await signer.presign(
        {
          method: METHOD,
          protocol: PROTOCOL,
          hostname: HOST,
          path,
          headers: { host: HOST, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
          query: {},
        } as any,
        SMITHY_OPTIONS,
      );
      // smithy returns a request, not a URL: turning it into one is part of the caller's cost.
      return formatUrl(PROTOCOL, HOST, path, presigned.query as Record<string, string>);
    },
  };
}

const { AwsClient } = isolatedCopy<Aws4fetchModule>("aws4fetch");
const { AwsV4Signer } = isolatedCopy<Aws4fetchModule>("aws4fetch");
const aws4fetchClient = new AwsClient({ ...CREDENTIALS, service: "s3", region: REGION });
const AWS4FETCH_INIT = { method: METHOD, aws: { signQuery: true, datetime: AMZ_DATE } };
const aws4fetchCache = new Map<string, ArrayBuffer>();

const s3 = new S3Client({
  region: REGION,
  credentials: CREDENTIALS,
  // Without this, newer SDKs add a CRC32 checksum of the (empty) body to presigned PUTs.
  requestChecksumCalculation: "WHEN_REQUIRED",
});
// The SDK adds two signed parameters of its own; our signer reproduces its URL when given them.
const SDK_EXTRA_QUERY = { "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD", "x-id": "PutObject" };

const ALL_CONTENDERS: Contender[] = [
  { id: "floor", name: "node:crypto floor (hand-inlined)", sign: (i) => floorPresign(PATHS[i & KEY_MASK]!, DATE) },
  { id: "ours-node", name: "ours, nodeSha256", sign: (i) => oursNode.presign(request(i)) },
  { id: "ours-web", name: "ours, Web Crypto, sequential", sign: (i) => oursWeb.presign(request(i)) },
  {
    id: "ours-web-parallel",
    name: `ours, Web Crypto, ${IN_FLIGHT} in flight`,
    sign: (i) => oursWeb.presign(request(i)),
    inFlight: IN_FLIGHT,
  },
  smithyContender("smithy-node", "@smithy/signature-v4 + hash-node", Hash.bind(null, "sha256")),
  smithyContender("smithy-js", "@smithy/signature-v4 + sha256-js", Sha256),
  {
    id: "aws4fetch",
    name: "aws4fetch AwsClient.sign",
    sign: async (i) => (await aws4fetchClient.sign(`${PROTOCOL}//${HOST}${PATHS[i & KEY_MASK]}?X-Amz-Expires=${EXPIRES_IN}`, AWS4FETCH_INIT)).url,
  },
  {
    id: "aws4fetch-signer",
    name: "aws4fetch AwsV4Signer (no Request)",
    sign: async (i) => {
      const signer = new AwsV4Signer({
        ...CREDENTIALS,
        url: `${PROTOCOL}//${HOST}${PATHS[i & KEY_MASK]}?X-Amz-Expires=${EXPIRES_IN}`,
        method: METHOD,
        service: "s3",
        region: REGION,
        cache: aws4fetchCache,
        datetime: AMZ_DATE,
        signQuery: true,
      });
      return (await signer.sign()).url.toString();
    },
  },
  {
    id: "sdk-presigner",
    name: "@aws-sdk/s3-request-presigner",
    sign: (i) =>
      getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: KEYS[i & KEY_MASK]! }), {
        expiresIn: EXPIRES_IN,
        signingDate: DATE,
      }),
  },
];

const CONTENDERS = ALL_CONTENDERS.filter((c) => !ONLY || ONLY.includes(c.id) || c.id === "ours-node"); // --only=floor,aws4fetch

// ---------------------------------------------------------------------------------------------
// Correctness first: never time something that signs differently.

async function verify(): Promise<void> {
  const failures: string[] = [];
  for (let i = 0; i < 16; i++) {
    const ours = await oursNode.presign(request(i));
    for (const contender of CONTENDERS) {
      const got = await contender.sign(i);
      let expected = ours;
      let normalized = got;
      if (contender.id.startsWith("aws4fetch")) {
        // aws4fetch keeps URLSearchParams' order and encoding; compare its parameters laid out like ours.
        const url = new URL(got);
        normalized = formatUrl(url.protocol, url.host, url.pathname, parseQuery(url));
      } else if (contender.id === "sdk-presigner") {
        const url = new URL(got);
        const query = parseQuery(url);
        if (url.host !== HOST || url.pathname !== PATHS[i]) failures.push(`${contender.id}: URL ${got} is not for ${HOST}${PATHS[i]}`);
        if (query["X-Amz-SignedHeaders"] !== "host") failures.push(`${contender.id}: signs headers ${query["X-Amz-SignedHeaders"]}`);
        const extra = Object.fromEntries(Object.entries(query).filter(([name]) => !name.startsWith("X-Amz-") || name === "X-Amz-Content-Sha256"));
        if (JSON.stringify(extra) !== JSON.stringify(SDK_EXTRA_QUERY)) failures.push(`${contender.id}: unexpected extra parameters ${JSON.stringify(extra)}`);
        expected = await oursNode.presign({ ...request(i), query: extra });
        normalized = formatUrl(url.protocol, url.host, url.pathname, query);
      }
      if (normalized !== expected) failures.push(`${contender.id} (key ${JSON.stringify(KEYS[i])}):\n  got      ${got}\n  expected ${expected}`);
    }
  }
  if (failures.length) {
    console.error(`Contenders disagree with our signer; not benchmarking:\n${failures.join("\n")}`);
    process.exit(1);
  }
}

// ---------------------------------------------------------------------------------------------
// Timing

let sink = 0; // keeps results alive

// A full GC before each timed run, so no contender pays for the garbage of the one before it.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

interface Sample {
  /** URLs per wall-clock second. */
  rate: number;
  /** CPU time (all threads: user + system) per URL, in µs. */
  cpuMicros: number;
}

async function measure(contender: Contender, ms: number): Promise<Sample> {
  const { sign } = contender;
  const inFlight = contender.inFlight ?? 1;
  collectGarbage();
  let ops = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  let now = start;
  if (inFlight > 1) {
    const batch = new Array<string | Promise<string>>(inFlight);
    do {
      for (let k = 0; k < inFlight; k++) batch[k] = sign(ops++);
      const urls = await Promise.all(batch);
      sink += urls[urls.length - 1]!.length;
      now = performance.now();
    } while (now < end);
  } else {
    do {
      for (let k = 0; k < 64; k++) {
        const url = sign(ops++);
        sink += (typeof url === "string" ? url : await url).length;
      }
      now = performance.now();
    } while (now < end);
  }
  const cpu = process.cpuUsage(cpuStart);
  return { rate: (ops * 1000) / (now - start), cpuMicros: (cpu.user + cpu.system) / ops };
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function main(): Promise<void> {
  const started = performance.now();
  await verify();
  if (!JSON_OUTPUT) console.error(`verified ${CONTENDERS.length} contenders x 16 keys; warming up...`);
  for (const contender of CONTENDERS) await measure(contender, WARMUP_MS);

  const samples = new Map<string, number[]>(CONTENDERS.map((c) => [c.id, []]));
  const cpuSamples = new Map<string, number[]>(CONTENDERS.map((c) => [c.id, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    if (!JSON_OUTPUT) console.error(`round ${round}/${ROUNDS}...`);
    for (const contender of CONTENDERS) {
      const { rate, cpuMicros } = await measure(contender, DURATION_MS);
      samples.get(contender.id)!.push(rate);
      cpuSamples.get(contender.id)!.push(cpuMicros);
    }
  }

  const rate = (id: string) => median(samples.get(id)!);
  const results = CONTENDERS.map((c) => ({
    id: c.id,
    name: c.name,
    urlsPerSecond: Math.round(rate(c.id)),
    microsecondsPerUrl: round3(1e6 / rate(c.id)),
    cpuMicrosecondsPerUrl: round3(median(cpuSamples.get(c.id)!)),
    rounds: samples.get(c.id)!.map(Math.round),
  }));
  // Each ratio is the median of the per-round ratios: the two runs of a round are close in time, which
  // cancels most of the drift from whatever else the machine is doing.
  const ratioOf = (a: string, b: string) =>
    median(samples.get(a)!.map((value, round) => value / samples.get(b)![round]!));
  const ratios = [
    { name: "ours(node) vs floor", of: "ours-node", vs: "floor", target: 0.7 },
    { name: "ours(node) vs smithy(hash-node)", of: "ours-node", vs: "smithy-node", target: 4 },
    { name: "ours(node) vs smithy(sha256-js)", of: "ours-node", vs: "smithy-js" },
    { name: "ours(node) vs aws4fetch", of: "ours-node", vs: "aws4fetch", target: 15 },
    { name: "ours(node) vs sdk-presigner", of: "ours-node", vs: "sdk-presigner" },
    { name: "ours(web, 1000 in flight) vs ours(web, sequential)", of: "ours-web-parallel", vs: "ours-web" },
  ]
    .filter(({ of, vs }) => samples.has(of) && samples.has(vs))
    .map(({ name, of, vs, target }) => {
      const value = ratioOf(of, vs);
      const cpuValue = median(cpuSamples.get(vs)!) / median(cpuSamples.get(of)!);
      return { name, value, cpuValue, target, pass: target === undefined ? undefined : value >= target };
    });
  const elapsedSeconds = (performance.now() - started) / 1000;

  if (JSON_OUTPUT) {
    console.log(
      JSON.stringify(
        {
          node: process.version,
          durationMs: DURATION_MS,
          rounds: ROUNDS,
          elapsedSeconds: round3(elapsedSeconds),
          results,
          ratios: ratios.map((r) => ({ ...r, value: round3(r.value), cpuValue: round3(r.cpuValue) })),
        },
        null,
        2,
      ),
    );
    return;
  }

  const nameWidth = Math.max(...results.map((r) => r.name.length));
  console.log(`\nNode ${process.version} on ${hostLine()}, ${ROUNDS} rounds x ${DURATION_MS} ms each, median URLs/s\n`);
  console.log(`${"contender".padEnd(nameWidth)}  ${"URLs/s".padStart(10)}  ${"µs/URL".padStart(8)}  ${"CPU µs/URL".padStart(10)}  URLs/s per round`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(nameWidth)}  ${r.urlsPerSecond.toLocaleString("en-US").padStart(10)}  ${r.microsecondsPerUrl.toFixed(2).padStart(8)}  ${r.cpuMicrosecondsPerUrl.toFixed(2).padStart(10)}  ${r.rounds.map((n) => n.toLocaleString("en-US")).join(" / ")}`,
    );
  }
  console.log("");
  const ratioWidth = Math.max(...ratios.map((r) => r.name.length));
  for (const r of ratios) {
    const verdict = r.target === undefined ? "" : `  target >= ${r.target}x: ${r.pass ? "PASS" : "MISS"}`;
    console.log(`${r.name.padEnd(ratioWidth)}  ${r.value.toFixed(2).padStart(7)}x  (by CPU time ${r.cpuValue.toFixed(2)}x)${verdict}`);
  }
  console.log(`\n(${elapsedSeconds.toFixed(1)} s; checksum ${sink % 997})`);
}

await main();
