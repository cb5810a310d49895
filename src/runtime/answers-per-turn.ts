// Node's server writes each answer the moment its handler returns, so a busy server writes one answer, reads and
// handles the next request, writes again: each write finds the client asleep and pays to wake it (on loopback and in
// a VM, the wake-up is the sender's CPU). Held back to the end of the event loop's turn, the answers to every
// request read in that turn go out back to back and wake the client once. bench/http.ts's control run measures it.
// Node and Deno serve through it (src/runtime/node.ts, deno.ts).
import { setImmediate } from "node:timers";

type Fetch<Env> = (request: Request, env: Env) => Response | Promise<Response>;

/** `fetch` whose answers are handed over together once per turn of the event loop (in `setImmediate`). */
export function answersPerTurn<Env>(fetch: Fetch<Env>): (request: Request, env: Env) => Promise<Response> {
  let waiting: (() => void)[] = [];
  const release = () => {
    const ready = waiting;
    waiting = [];
    for (const hand of ready) hand();
  };
  const hold = (response: Response) =>
    new Promise<Response>((resolve) => {
      if (waiting.length === 0) setImmediate(release);
      waiting.push(() => resolve(response));
    });
  return (request, env) => {
    const answer = fetch(request, env);
    return answer instanceof Response ? hold(answer) : answer.then(hold);
  };
}
