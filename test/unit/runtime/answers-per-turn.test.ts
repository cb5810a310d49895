// The Node server's answers held to the end of the event loop's turn (answersPerTurn in runtime/per-turn.ts): none is handed
// over early, all of one turn go together and in order, failures pass through, and a real server still answers
// every request with its own body.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { describe, expect, it } from "vitest";
import { answersPerTurn, linesPerTurn, writeLines } from "../../../src/runtime/per-turn.ts";

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

// The log lines of a turn: written in texts of at most `max` lines, every line once, in order, each ending in a newline.
describe("writeLines", () => {
  it("writes every line once and in order, each with its newline, in texts of at most max lines", () => {
    for (const count of [1, 2, 63, 64, 65, 128, 129, 1000]) {
      const lines = Array.from({ length: count }, (_, i) => `{"line":${i},"text":"é ${"x".repeat(i % 7)}"}`);
      const expected = lines.map((line) => `${line}\n`).join("");
      const texts: string[] = [];
      writeLines([...lines], (text) => texts.push(text));
      expect(texts.join(""), `${count} lines`).toBe(expected);
      expect(texts.length, `${count} lines`).toBe(Math.ceil(count / 64));
      for (const text of texts) expect(text.endsWith("\n") && text.split("\n").length - 1 <= 64).toBe(true);
    }
    const small: string[] = [];
    writeLines(["a", "b", "c"], (text) => small.push(text), 2);
    expect(small).toEqual(["a\nb\n", "c\n"]);
  });
});

describe("linesPerTurn", () => {
  it("writes a turn's lines at its end, in order, and what waits at once on flush()", async () => {
    const texts: string[] = [];
    const log = linesPerTurn((text) => texts.push(text));
    for (let i = 0; i < 70; i++) log({ line: i, text: i % 2 ? "é\n\"" : undefined });
    await microtasks();
    expect(texts).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(texts.join("").split("\n").slice(0, -1).map((line) => JSON.parse(line))).toEqual(Array.from({ length: 70 }, (_, i) => (i % 2 ? { line: i, text: "é\n\"" } : { line: i })));
    expect(texts.length).toBe(2);
    log.json!('{"last":true}');
    log.flush();
    expect(texts[2]).toBe('{"last":true}\n');
  });
});
