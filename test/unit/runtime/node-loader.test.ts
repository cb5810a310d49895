// src/runtime/node-loader-hooks.mjs, npm start's TypeScript loader: .ts files become ES modules without tsx's
// keepNames (its __name wrapper around every named closure cost 2.5 to 3 µs a request); the rest loads as Node's.
import { readdirSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module, no types
import { load } from "../../../src/runtime/node-loader-hooks.mjs";

const url = (path: string) => pathToFileURL(new URL(`../../../${path}`, import.meta.url).pathname).href;
const unused = () => Promise.reject(new Error("nextLoad called for a .ts file"));

describe("npm start's loader", () => {
  it("turns a .ts file into an ES module with no __name wrappers and no types", async () => {
    const file = "src/routes/storage.ts";
    expect(readFileSync(new URL(url(file)), "utf8")).toMatch(/const made = \(url: string\): ObjectUrl =>/);
    const loaded = await load(url(file), { format: undefined }, unused);
    expect(loaded).toMatchObject({ format: "module", shortCircuit: true });
    expect(loaded.source).toMatch(/^function objectUrl\(s, grant, target, key, method, request\)/m);
    expect(loaded.source).toMatch(/const made = \(url2?\) =>/);
    expect(loaded.source).not.toMatch(/__name|: ObjectUrl/);
    expect(loaded.source).toMatch(/sourceMappingURL=data:application\/json;base64,/);
  });

  it("keeps imports as written and class fields as ES2022 defines them", async () => {
    const loaded = await load(url("src/config.ts"), {}, unused);
    expect(loaded.source).toMatch(/^import \{ ACCOUNT_CACHE_MS \} from "\.\/store\/cache\.ts";$/m);
    expect(loaded.source).toMatch(/^\s+name = "SettingError";$/m);
    // An import whose binding goes unused still loads its module, as tsc has it (esbuild's default drops it).
    expect((await load(url("test/unit/runtime/loader-fixture.ts"), {}, unused)).source).toMatch(/^import \{ KEYS \} from "\.\.\/\.\.\/app\.ts";$/m);
  });

  it("leaves every other module to Node", async () => {
    const seen: string[] = [];
    const next = async (href: string) => (seen.push(href), { format: "module", source: "" });
    for (const href of [url("src/runtime/node-loader.mjs"), "node:fs", "data:text/javascript,1", "https://example.com/x.ts"]) await load(href, {}, next);
    expect(seen).toHaveLength(4);
  });

  it("stops esbuild's child process a second after the last file, never while one is loading (a review, 2026-12-01)", async () => {
    const esbuilds = () =>
      readdirSync("/proc").filter((pid) => {
        try {
          return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1] === String(process.pid) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--service");
        } catch {
          return false; // gone
        }
      });
    // Past the idle second of the tests above: their child process is gone, and the next load starts one.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const before = new Set(esbuilds());
    await load(url("test/unit/runtime/loader-fixture.ts"), {}, unused);
    const child = esbuilds().find((pid) => !before.has(pid));
    expect(child, `esbuild's child process (others: ${[...before].join(", ")})`).toBeDefined();
    // A transform slower than the idle second (a starved machine): stopped under it, the load would never end.
    process.kill(Number(child), "SIGSTOP");
    const loading = load(url("src/routes/storage.ts"), {}, unused);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    process.kill(Number(child), "SIGCONT");
    const late = new Promise((resolve) => setTimeout(resolve, 3000, "never settled"));
    expect(await Promise.race([loading.then((loaded: { format: string }) => loaded.format), late])).toBe("module");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(esbuilds()).not.toContain(child);
    expect((await load(url("src/config.ts"), {}, unused)).format).toBe("module"); // a later file starts it again
  }, 15_000);
});
