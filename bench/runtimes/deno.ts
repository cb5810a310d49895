// bench/runtimes.ts's Deno part: `deno run bench/runtimes/deno.ts ROUNDS N` prints JSON: URLs for a few requests
// (to check), and µs per URL for each signer over interleaved rounds of N sequential URLs. Besides the Web Crypto
// workload, "ours-node": our signer on node:crypto, which is what src/runtime/deno.ts signs with.
import { nodeSha256 } from "../../src/runtime/node-crypto.ts";
import { createPresigner } from "../../src/signer.ts";
import { CREDENTIALS, DATE, EXPIRES_IN, HOST, PATHS, REGION, sign as signWeb, type Who } from "./workload.ts";

// Through globalThis, so that tsc (Node types) checks this file too.
const deno = (globalThis as unknown as { Deno: { args: string[]; version: { deno: string; v8: string } } }).Deno;
const [rounds = 5, n = 2000] = deno.args.map(Number);

type Contender = Who | "ours-node";
const oursNode = createPresigner(nodeSha256);
const sign = (who: Contender, i: number): Promise<string> =>
  who === "ours-node"
    ? Promise.resolve(oursNode.presign({ method: "PUT", protocol: "https:", host: HOST, path: PATHS[i % PATHS.length]!, region: REGION, credentials: CREDENTIALS, expiresIn: EXPIRES_IN, date: DATE }))
    : signWeb(who, i);
async function signMany(who: Contender, count: number): Promise<string> {
  let last = "";
  for (let i = 0; i < count; i++) last = await sign(who, i);
  return last;
}

const contenders: Contender[] = ["ours", "aws4fetch", "ours-node"];
const check: Record<string, string[]> = {};
const micros: Record<string, number[]> = {};
for (const who of contenders) {
  check[who] = [];
  micros[who] = [];
  for (let i = 0; i < 8; i++) check[who].push(await sign(who, i));
  await signMany(who, n); // warm-up
}
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < contenders.length; k++) {
    const who = contenders[(k + round) % contenders.length]!;
    const started = performance.now();
    await signMany(who, n);
    micros[who]!.push(((performance.now() - started) * 1000) / n);
  }
}
console.log(JSON.stringify({ deno: deno.version.deno, v8: deno.version.v8, check, micros }));
