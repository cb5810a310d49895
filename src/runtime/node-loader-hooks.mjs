// The hooks of node-loader.mjs: each .ts file through esbuild, file by file, keepNames off.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

let esbuild;
let idle;

/** Node's `load` hook: a .ts file under file: becomes an ES module; everything else loads as Node loads it. */
export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const { transform, stop } = await (esbuild ??= import("esbuild"));
  // esbuild answers from a child process: stopped once loading is over (a later import starts it again).
  clearTimeout(idle);
  idle = setTimeout(stop, 1000).unref();
  const { code } = await transform(await readFile(path, "utf8"), {
    loader: "ts",
    format: "esm",
    target: `node${process.versions.node}`,
    sourcemap: "inline",
    sourcefile: path,
    // What of tsconfig.json changes the output: class fields as ES2022 defines them, imports kept as written.
    tsconfigRaw: { compilerOptions: { target: "ES2022", verbatimModuleSyntax: true } },
  });
  return { format: "module", source: code, shortCircuit: true };
}
