// The HTTP floor for bench/http.ts: the same framework as signpost (Hono on @hono/node-server) on the same route,
// answering a constant JSON body (BENCH_BODY, the size of signpost's answer) with the same headers, and
// nothing else: no auth, no account lookup, no signing, no request log.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { answersPerTurn } from "../../src/runtime/per-turn.ts";

const body = process.env.BENCH_BODY;
if (!body) throw new Error("BENCH_BODY is required");
const headers = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

const app = new Hono();
// BENCH_SPIN_US (bench/http.ts --control): a busy loop this long before answering, standing in for work.
const spinMs = Number(process.env.BENCH_SPIN_US ?? 0) / 1000;
app.get("/aws/storage/:account/:bucket/*", () => {
  if (spinMs > 0) for (const end = performance.now() + spinMs; performance.now() < end; );
  return new Response(body, { status: 200, headers });
});

// BENCH_PER_TURN=1 (bench/http.ts --control-per-turn): the answers held to the end of the loop's turn, as signpost does.
const fetch = process.env.BENCH_PER_TURN === "1" ? answersPerTurn(app.fetch) : app.fetch;
serve({ fetch, port: Number(process.env.PORT || 0), hostname: process.env.HOST || "127.0.0.1" }, (info) => {
  process.stderr.write(`${JSON.stringify({ message: "listening", url: `http://${info.address}:${info.port}` })}\n`);
});
process.once("SIGTERM", () => process.exit(0));
