// The Node server's answers held to the end of the event loop's turn (answersPerTurn in runtime/per-turn.ts): none is handed
// over early, all of one turn go together and in order, failures pass through, and a real server still answers
// every request with its own body.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { describe, expect, it } from "vitest";
import { answersPerTurn } from "../../../src/runtime/per-turn.ts";

const microtasks = async (n = 20) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

describe("answersPerTurn", () => {
  it("hands over no answer before the turn ends, then every answer of the turn together, in order", async () => {
    const handed: string[] = [];
    const fetch = answersPerTurn((request: Request) => new Response(new URL(request.url).pathname));
    const answers = ["/a", "/b", "/c"].map((path) => fetch(new Request(`http://x${path}`), {}).then(async (response) => handed.push(await response.text())));
    await microtasks();
    expect(handed).toEqual([]);
    await Promise.all(answers);
    expect(handed).toEqual(["/a", "/b", "/c"]);
  });

  it("holds an answer its handler makes later in the turn, and a later turn's answer too", async () => {
    const order: string[] = [];
    const fetch = answersPerTurn(async (request: Request) => {
      await microtasks(3);
      order.push(`made ${new URL(request.url).pathname}`);
      return new Response(new URL(request.url).pathname);
    });
    const first = fetch(new Request("http://x/first"), {}).then(() => order.push("handed /first"));
    await microtasks();
    expect(order).toEqual(["made /first"]);
    await first;
    const second = fetch(new Request("http://x/second"), {}).then(() => order.push("handed /second"));
    await microtasks();
    expect(order).toEqual(["made /first", "handed /first", "made /second"]);
    await second;
    expect(order.at(-1)).toBe("handed /second");
  });

  it("passes a failure through", async () => {
    const fetch = answersPerTurn(async () => {
      throw new Error("broken handler");
    });
    await expect(fetch(new Request("http://x/"), {})).rejects.toThrow("broken handler");
  });

  it("serves concurrent requests on a real server, each with its own answer", async () => {
    const fetch = answersPerTurn((request: Request) => new Response(`answer to ${new URL(request.url).pathname}`, { headers: { "x-path": new URL(request.url).pathname } }));
    const server = createServer(getRequestListener(fetch));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const paths = Array.from({ length: 40 }, (_, i) => `/r${i}`);
      const answers = await Promise.all(paths.map(async (path) => {
        const response = await globalThis.fetch(`${base}${path}`);
        return [response.headers.get("x-path"), await response.text()];
      }));
      expect(answers).toEqual(paths.map((path) => [path, `answer to ${path}`]));
    } finally {
      server.close();
    }
  });
});
