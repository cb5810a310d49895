// Work gathered during a turn of the event loop and done once at its end (setImmediate): the server's answers and
// its log lines. Node and Deno serve through answersPerTurn and log through linesPerTurn (src/runtime/node.ts, deno.ts).
import { setImmediate } from "node:timers";
import { type Log, textLog } from "../http/log.ts";

/** Items added during a turn, handed to `flush` together at its end; `flush()` does it now (on exit). */
export function perTurn<T>(flush: (items: T[]) => void): { add(item: T): void; flush(): void } {
  let items: T[] = [];
  const run = () => {
    if (items.length === 0) return;
    const ready = items;
    items = [];
    flush(ready);
  };
  return {
    add(item) {
      if (items.length === 0) setImmediate(run);
      items.push(item);
    },
    flush: run,
  };
}

/**
 * Writes `lines`, each ending in a newline, as few texts of at most `max` lines each. One text for all of a turn's
 * lines is the fewest writes, but a busy turn of batches holds a thousand audit lines: joined at once they make a
 * string of some 300 KB, which V8 keeps in its large-object space, and which costs twice as much per line to build
 * as texts of 64 lines (BENCHMARKS.md part 13).
 */
export function writeLines(lines: string[], write: (text: string) => void, max = 64): void {
  const count = lines.length;
  for (let start = 0; start < count; start += max) {
    const part = count <= max ? lines : lines.slice(start, start + max);
    part.push(""); // the last line's newline, in the same join (not a copy of all of them joined)
    write(part.join("\n"));
  }
}

/**
 * The request log and audit lines, gathered during a turn and written at its end (writeLines): a busy server makes
 * one write for many requests instead of one for each line. `flush()` writes what is waiting now (on exit).
 */
export function linesPerTurn(write: (text: string) => void): Log & { flush(): void } {
  const lines = perTurn<string>((ready) => writeLines(ready, write));
  return Object.assign(textLog((line) => lines.add(line)), { flush: lines.flush });
}

type Fetch<Env> = (request: Request, env: Env) => Response | Promise<Response>;

/**
 * `fetch` whose answers are handed over together once per turn. The servers write each answer the moment its
 * handler returns, so a busy one writes an answer, handles the next request, writes again: each write finds the
 * client asleep and pays to wake it (on loopback and in a VM, the wake-up is the sender's CPU). Held to the turn's
 * end, the answers to every request read in it go out back to back and wake the client once (BENCHMARKS.md, part 8).
 */
export function answersPerTurn<Env>(fetch: Fetch<Env>): (request: Request, env: Env) => Promise<Response> {
  const answers = perTurn<() => void>((ready) => {
    for (const hand of ready) hand();
  });
  const hold = (response: Response) => new Promise<Response>((resolve) => answers.add(() => resolve(response)));
  return (request, env) => {
    const answer = fetch(request, env);
    return answer instanceof Response ? hold(answer) : answer.then(hold);
  };
}
