// The layering of src/ as README's "Where things are" describes it, checked on every import so it cannot drift:
// the core runs unchanged on Workers, Deno and Node (only src/runtime/ may touch a platform), domain/ is plain
// TypeScript, routes/ never reach a store backend or a runtime, aws/ knows the protocol and nothing of signpost's
// policy, store/ and crypto/ stand alone.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

function withoutComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** An imported module: a package by name, or one of signpost's own files as a path under src/. */
interface Import {
  spec: string;
  local: boolean;
}

/** Every module a file imports (static, dynamic, type-only, re-exports). */
function importsOf(file: string, code: string): Import[] {
  const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm)].map((m) => m[1]!);
  return specifiers.map((spec) =>
    spec.startsWith(".") ? { spec: relative(SRC, resolve(dirname(file), spec)), local: true } : { spec, local: false },
  );
}

const FILES = sourceFiles(SRC).map((file) => {
  const code = withoutComments(readFileSync(file, "utf8"));
  return { path: relative(SRC, file), code, imports: importsOf(file, code) };
});

const PLATFORM = [
  [/from\s+["']node:|import\(\s*["']node:|require\(/, "a node: import"],
  [/\bDeno\./, "Deno.*"],
  [/\bprocess\.|\bBuffer\b|\b__dirname\b/, "a Node global"],
  [/@cloudflare\/workers-types|\bKVNamespace\b|\bExecutionContext\b/, "a Workers-only type"],
  [/from\s+["']@deno\/kv["']|from\s+["']@hono\/node-server/, "a Node-only package"],
] as const;

const under = (...folders: string[]) => (path: string) => folders.some((folder) => path.startsWith(`${folder}/`));
const isHono = ({ spec, local }: Import) => !local && (spec === "hono" || spec.startsWith("hono/") || spec.startsWith("@hono/"));
const own = (test: (path: string) => boolean) => ({ spec, local }: Import) => local && test(spec);
const STORE_BACKENDS = ["store/memory.ts", "store/cache.ts", "store/kv.ts", "store/workers-kv.ts", "store/postgres.ts"];
const SHELL = ["app.ts", "compose.ts", "services.ts"];
const isBackend = own((path) => STORE_BACKENDS.includes(path));
const isShell = own((path) => SHELL.includes(path));

interface Rule {
  name: string;
  /** Which files the rule is about. */
  files: (path: string) => boolean;
  /** True when these files may not import `module`. */
  refuses: (module: Import) => boolean;
  /** An import the rule must refuse and one it must let through, so that a rule that refuses nothing fails. */
  sample: { file: string; refused: Import; allowed: Import };
}

const RULES: Rule[] = [
  {
    name: "only runtime/ imports runtime/ (the platform doors)",
    files: (path) => !under("runtime")(path),
    refuses: own(under("runtime")),
    sample: { file: "routes/objects.ts", refused: { spec: "runtime/node-io.ts", local: true }, allowed: { spec: "domain/names.ts", local: true } },
  },
  {
    name: "domain/ is plain TypeScript: no Hono, HTTP helpers, routes, authenticators, store backends or shell",
    files: under("domain"),
    refuses: (m) => isHono(m) || own(under("http", "routes", "auth"))(m) || isBackend(m) || isShell(m),
    sample: { file: "domain/policy.ts", refused: { spec: "hono/tiny", local: false }, allowed: { spec: "store/store.ts", local: true } },
  },
  {
    name: "routes/ reach data through services: no store backend, credential source, composition or runtime",
    files: under("routes"),
    refuses: (m) => isBackend(m) || own(under("credentials"))(m) || own((p) => p === "compose.ts" || p === "app.ts")(m),
    sample: { file: "routes/accounts.ts", refused: { spec: "store/kv.ts", local: true }, allowed: { spec: "services.ts", local: true } },
  },
  {
    name: "aws/ is the protocol only: nothing of signpost's policy, resources, stores, routes or Hono",
    files: under("aws"),
    refuses: (m) => isHono(m) || own(under("domain", "routes", "auth", "store"))(m) || own((p) => under("http")(p) && p !== "http/stream.ts")(m) || isShell(m),
    sample: { file: "aws/s3url.ts", refused: { spec: "domain/account.ts", local: true }, allowed: { spec: "crypto/encoding.ts", local: true } },
  },
  {
    name: "credentials/ is the AWS default chain only: signpost's roles and lifetimes live in domain/",
    files: under("credentials"),
    refuses: (m) => isHono(m) || own(under("domain", "routes", "auth", "store", "http"))(m) || isShell(m),
    sample: { file: "credentials/chain.ts", refused: { spec: "domain/roles.ts", local: true }, allowed: { spec: "aws/sts.ts", local: true } },
  },
  {
    name: "store/ is generic: it keeps records without knowing what they are",
    files: under("store"),
    refuses: own((path) => !under("store")(path) && path !== "errors.ts"),
    sample: { file: "store/store.ts", refused: { spec: "domain/account.ts", local: true }, allowed: { spec: "errors.ts", local: true } },
  },
  {
    name: "crypto/ stands alone: sealing and the one base64 / base64url / hex",
    files: under("crypto"),
    refuses: own((path) => !under("crypto")(path) && path !== "errors.ts"),
    sample: { file: "crypto/seal.ts", refused: { spec: "aws/signer.ts", local: true }, allowed: { spec: "crypto/encoding.ts", local: true } },
  },
  {
    name: "auth/ finds the caller: it neither routes nor reaches a store backend",
    files: under("auth"),
    refuses: (m) => own(under("routes", "http"))(m) || isBackend(m) || isShell(m),
    sample: { file: "auth/client-secret.ts", refused: { spec: "store/memory.ts", local: true }, allowed: { spec: "domain/client.ts", local: true } },
  },
  {
    name: "the shell (app.ts, compose.ts, services.ts) is built on the layers, not imported by them",
    files: (path) => !SHELL.includes(path) && !under("routes", "runtime")(path),
    refuses: isShell,
    sample: { file: "http/context.ts", refused: { spec: "services.ts", local: true }, allowed: { spec: "errors.ts", local: true } },
  },
  {
    name: "Hono stays in app.ts, http/ and routes/ (and the Node runtime's server); auth/jwt.ts uses its JWS library",
    files: (path) => path !== "app.ts" && !under("http", "routes", "runtime")(path),
    refuses: (m) => isHono(m) && !(m.spec === "hono/utils/jwt/jwt"),
    sample: { file: "domain/presign.ts", refused: { spec: "hono", local: false }, allowed: { spec: "js-yaml", local: false } },
  },
];

describe("layering", () => {
  it("reads the imports of every kind", () => {
    const code = 'import a from "hono";\nimport type { B } from "./b.ts";\nexport { c } from "../c.ts";\nconst d = await import("./d/e.ts");\nimport "./side.ts";';
    expect(importsOf(join(SRC, "domain/x.ts"), code)).toEqual([
      { spec: "hono", local: false },
      { spec: "domain/b.ts", local: true },
      { spec: "c.ts", local: true },
      { spec: "domain/d/e.ts", local: true },
      { spec: "domain/side.ts", local: true },
    ]);
  });

  it.each(RULES.map((rule) => [rule.name, rule]))("%s (the rule itself refuses and allows)", (_, rule) => {
    expect(rule.files(rule.sample.file)).toBe(true);
    expect(rule.refuses(rule.sample.refused)).toBe(true);
    expect(rule.refuses(rule.sample.allowed)).toBe(false);
  });

  it.each(RULES.map((rule) => [rule.name, rule]))("%s", (_, rule) => {
    const broken = FILES.filter((file) => rule.files(file.path)).flatMap((file) =>
      file.imports.filter(rule.refuses).map((m) => `${file.path} imports ${m.spec}`),
    );
    expect(broken).toEqual([]);
  });

  it("every import of signpost's own resolves to a file under src/", () => {
    const paths = new Set(FILES.map((file) => file.path));
    const missing = FILES.flatMap((file) => file.imports.filter((m) => m.local && !paths.has(m.spec)).map((m) => `${file.path} → ${m.spec}`));
    expect(missing).toEqual([]);
  });
});

describe("core portability", () => {
  const core = FILES.filter((file) => !under("runtime")(file.path));

  it("finds the core files", () => {
    expect(core.map((f) => f.path)).toEqual(expect.arrayContaining(["app.ts", "aws/signer.ts", "store/kv.ts", "domain/policy.ts"]));
  });

  it.each(core.map((file) => [file.path, file]))("%s uses no platform API", (_, file) => {
    for (const [pattern, what] of PLATFORM) expect(file.code, `${what} in ${file.path}`).not.toMatch(pattern);
  });
});
