// Runs in Deno (`deno task test`): the answers held to the end of the event loop's turn (runtime/deno.ts serves
// through answersPerTurn), with node:timers' setImmediate as Deno gives it.
/// <reference lib="deno.ns" />
import { answersPerTurn } from "../../src/runtime/per-turn.ts";

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
