// `npm start`'s TypeScript loader (node --import): esbuild turns each .ts file into JavaScript as Node loads it, as
// tsx does, but without tsx's keepNames. keepNames wraps every named function the code makes in a defineProperty
// call, the closures made per request and per URL included: 2.5 to 3 µs of a 38 µs request, 1.5 µs of a batched
// URL's 8.8 (BENCHMARKS.md, part 9). signpost never reads a function's name. Tests, benches and the CLI keep tsx.
import { register } from "node:module";

process.setSourceMapsEnabled(true); // stack traces name lines of the .ts files
register("./node-loader-hooks.mjs", import.meta.url); // Node runs the hooks in a thread of their own
