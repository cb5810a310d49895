// The Worker floor for bench/edge.ts: answers a constant JSON (the size of signpost's answer), nothing else. Its
// cold start is what workerd and Miniflare cost before any of our code.
const body = JSON.stringify({ url: "x".repeat(370), "expires-at": "2026-01-01T00:00:00Z" });
const headers = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

export default {
  fetch(): Response {
    return new Response(body, { status: 200, headers });
  },
};
