// bench/runtimes.ts's Deno part: `deno run bench/runtimes/deno.ts ROUNDS N` prints JSON: URLs for a few requests
// (to check), and µs per URL for each signer over interleaved rounds of N sequential URLs. Besides the Web Crypto
// workload, "ours-node": our signer on node:crypto with Node's HMAC (two one-shot hashes over the key's pads), and
// "ours-midstates": with the HMAC in JavaScript from the pads' midstates, which is what src/runtime/deno.ts signs with.
import { midstateSha256, nodeSha256 } from "../../src/runtime/node-crypto.ts";
import { createPresigner } from "../../src/aws/signer.ts";
import { presignRequest, sign as signWeb, signEach, type Who } from "./workload.ts";

// Through globalThis, so that tsc (Node types) checks this file too.
const deno = (globalThis as unknown as { Deno: { args: string[]; version: { deno: string; v8: string } } }).Deno;
const [rounds = 5, n = 2000] = deno.args.map(Number);

type Contender = Who | "ours-node" | "ours-midstates";
const oursNode = createPresigner(nodeSha256);
const oursMidstates = createPresigner(midstateSha256);
const sign = (who: Contender, i: number) =>
  who === "ours-node" ? oursNode.presign(presignRequest(i)) : who === "ours-midstates" ? oursMidstates.presign(presignRequest(i)) : signWeb(who, i);
const signMany = (who: Contender, count: number) => signEach(count, (i) => sign(who, i));

const contenders: Contender[] = ["ours", "aws4fetch", "ours-node", "ours-midstates"];
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
