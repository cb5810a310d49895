// The core runs unchanged on Workers, Deno and Node: only src/runtime/ may touch a platform.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

const PLATFORM = [
  [/from\s+["']node:|import\(\s*["']node:|require\(/, "a node: import"],
  [/\bDeno\./, "Deno.*"],
  [/\bprocess\.|\bBuffer\b|\b__dirname\b/, "a Node global"],
  [/@cloudflare\/workers-types|\bKVNamespace\b|\bExecutionContext\b/, "a Workers-only type"],
  [/from\s+["']@deno\/kv["']|from\s+["']@hono\/node-server/, "a Node-only package"],
] as const;

describe("core portability", () => {
  const core = sourceFiles(SRC).filter((file) => !relative(SRC, file).startsWith("runtime"));

  it("finds the core files", () => {
    expect(core.map((f) => relative(SRC, f))).toEqual(expect.arrayContaining(["app.ts", "signer.ts", "store/kv.ts"]));
  });

  it.each(core.map((file) => [relative(SRC, file), file]))("%s uses no platform API", (_, file) => {
    const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    for (const [pattern, what] of PLATFORM) expect(code, `${what} in ${file}`).not.toMatch(pattern);
  });
});
