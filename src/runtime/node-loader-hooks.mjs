// The hooks of node-loader.mjs: each .ts file through esbuild, file by file, keepNames off.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** How long esbuild's child process outlives the last file loaded. */
const IDLE_MS = 1000;

let esbuild;
let idle;
let loading = 0;

/** Node's `load` hook: a .ts file under file: becomes an ES module; everything else loads as Node loads it. */
export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const { transform, stop } = await (esbuild ??= import("esbuild"));
  // esbuild answers from a child process: stopped a second after the last file loaded (a later import starts it
  // again), never while one is loading, as a transform it stops would never settle.
  loading++;
  clearTimeout(idle);
  try {
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
  } finally {
    if (--loading === 0) idle = setTimeout(stop, IDLE_MS).unref();
  }
}
