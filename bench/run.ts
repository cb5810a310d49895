// `npm run bench`: every bench, one after the other, each in its own process, then the targets in one list.
//
//   npx tsx bench/run.ts [--only=signer,runtimes,http,batch,edge,scale] [--quick]
//
//   signer  bench/signer.ts  presigned URLs/s in one process: ours vs smithy, aws4fetch, the SDK, a node:crypto floor
//   runtimes bench/runtimes.ts the Web Crypto signer vs aws4fetch on Node, inside workerd and in Deno
//   http    bench/http.ts    the Node server (`npm start`) vs an SDK baseline server and the HTTP floor, autocannon;
//                            with --profile: the top costs of signpost and of the floor by CPU profile
//   batch   bench/batch.ts   $presign-batch (100 GET URLs per request) vs one URL per request, and vs the signer
//   edge    bench/edge.ts    Worker bundle size and cold start vs an AWS SDK Worker
//   scale   bench/scale.ts   cost per URL as accounts (1, 1k, 100k) and key lengths (10, 100, 1000 bytes) grow
// About 4 minutes on 2 cores. --quick: shorter runs, for a look (numbers rougher).
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { hostLine, ROOT } from "./lib.ts";

const args = process.argv.slice(2);
const ONLY = args.find((a) => a.startsWith("--only="))?.split("=")[1]?.split(",");
const QUICK = args.includes("--quick");

const PARTS: { id: string; file: string; args: string[]; quick: string[] }[] = [
  { id: "signer", file: "bench/signer.ts", args: [], quick: ["--duration=400"] },
  { id: "runtimes", file: "bench/runtimes.ts", args: [], quick: ["--rounds=3", "--n=500"] },
  { id: "http", file: "bench/http.ts", args: ["--profile"], quick: ["--duration=2", "--rounds=1"] },
  { id: "batch", file: "bench/batch.ts", args: [], quick: ["--rounds=1", "--duration=1"] },
  { id: "edge", file: "bench/edge.ts", args: ["--samples=9"], quick: ["--samples=3"] },
  { id: "scale", file: "bench/scale.ts", args: [], quick: ["--duration=150"] },
];

function run(file: string, partArgs: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", file, ...partArgs], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    child.once("exit", (code) => resolve({ code, stdout }));
  });
}

const host = hostLine();
console.log(`signpost bench: ${new Date().toISOString()}, Node ${process.version}, on ${host}`);
const started = performance.now();
const targets: string[] = [];
const failed: string[] = [];
for (const part of PARTS.filter((p) => !ONLY || ONLY.includes(p.id))) {
  const partArgs = QUICK ? part.quick : part.args;
  console.log(`\n=== ${part.id}: npx tsx ${part.file} ${partArgs.join(" ")}`.trimEnd());
  const { code, stdout } = await run(part.file, partArgs);
  if (code !== 0) failed.push(`${part.id} (exit ${code})`);
  for (const line of stdout.split("\n")) if (/target >= [\d.]+x: (PASS|MISS)/.test(line)) targets.push(`${part.id.padEnd(8)}  ${line.trim()}`);
}
console.log(`\n=== targets, on ${host}, Node ${process.version}\n${targets.join("\n") || "(none)"}`);
console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
if (failed.length) {
  console.error(`failed: ${failed.join(", ")}`);
  process.exit(1);
}
