// Runs in Deno (`deno task test`): the answers held to the end of the event loop's turn (runtime/deno.ts serves
// through answersPerTurn) and the log's lines written together at its end (linesPerTurn), with node:timers'
// setImmediate as Deno gives it.
/// <reference lib="deno.ns" />
import { answersPerTurn, linesPerTurn } from "../../src/runtime/per-turn.ts";

function assertEquals(actual: unknown, expected: unknown, message = "") {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${message} expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

Deno.test("answers are handed over together at the end of the turn, in order, failures passed through", async () => {
  const handed: string[] = [];
  const fetch = answersPerTurn((request: Request) => new Response(new URL(request.url).pathname));
  const answers = ["/a", "/b", "/c"].map((path) => fetch(new Request(`http://x${path}`), {}).then(async (response) => handed.push(await response.text())));
  for (let i = 0; i < 20; i++) await Promise.resolve();
  assertEquals(handed, [], "before the turn ends:");
  await Promise.all(answers);
  assertEquals(handed, ["/a", "/b", "/c"]);

  const failing = answersPerTurn(() => Promise.reject(new Error("broken handler")));
  const error = await failing(new Request("http://x/"), {}).then(() => undefined, (e: Error) => e.message);
  assertEquals(error, "broken handler");
});

Deno.test("a turn's log lines are written together at its end, in order, in texts of at most 64 lines; flush() writes at once", async () => {
  const texts: string[] = [];
  const log = linesPerTurn((text) => texts.push(text));
  for (let i = 0; i < 100; i++) log({ line: i });
  for (let i = 0; i < 20; i++) await Promise.resolve();
  assertEquals(texts, [], "before the turn ends:");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assertEquals(texts.length, 2, "100 lines:");
  assertEquals(texts.join(""), Array.from({ length: 100 }, (_, i) => `{"line":${i}}\n`).join(""));
  log.json!('{"last":true}');
  log.flush();
  assertEquals(texts[2], '{"last":true}\n', "flushed:");
});
