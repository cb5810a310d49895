// bench/runtimes.ts's Deno part: `deno run bench/runtimes/deno.ts ROUNDS N` prints JSON: URLs for a few requests
// (to check), and µs per URL for each signer over interleaved rounds of N sequential URLs.
import { sign, signMany, type Who } from "./workload.ts";

// Through globalThis, so that tsc (Node types) checks this file too.
const deno = (globalThis as unknown as { Deno: { args: string[]; version: { deno: string; v8: string } } }).Deno;
const [rounds = 5, n = 2000] = deno.args.map(Number);
const check: Record<string, string[]> = { ours: [], aws4fetch: [] };
for (const who of ["ours", "aws4fetch"] as Who[]) for (let i = 0; i < 8; i++) check[who]!.push(await sign(who, i));
for (const who of ["ours", "aws4fetch"] as Who[]) await signMany(who, n); // warm-up
const micros: Record<string, number[]> = { ours: [], aws4fetch: [] };
for (let round = 0; round < rounds; round++) {
  for (const who of (round % 2 ? ["aws4fetch", "ours"] : ["ours", "aws4fetch"]) as Who[]) {
    const started = performance.now();
    await signMany(who, n);
    micros[who]!.push(((performance.now() - started) * 1000) / n);
  }
}
console.log(JSON.stringify({ deno: deno.version.deno, v8: deno.version.v8, check, micros }));
