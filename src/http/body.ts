// Request bodies in JSON (plain, FHIR or JSON Merge Patch) or YAML, read under a size cap; answers in JSON, FHIR JSON
// or YAML as the client accepts.
import { CORE_SCHEMA, load } from "js-yaml";
import { readAtMost } from "./stream.ts";
import { HttpError } from "../errors.ts";

export const MAX_BODY_BYTES = 64 * 1024;

const YAML_TYPES = new Set(["text/yaml", "application/yaml", "application/x-yaml"]);
// FHIR clients send application/fhir+json; PATCH bodies are JSON Merge Patch documents (RFC 7396).
const JSON_TYPES = new Set(["application/json", "application/fhir+json", "application/merge-patch+json"]);
const SUPPORTED = "application/json (or application/fhir+json, application/merge-patch+json), application/yaml, text/yaml or application/x-yaml";

function mediaType(header: string | null): { type: string; charset?: string } {
  const [type = "", ...params] = (header ?? "").split(";");
  const charset = params
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith("charset="))
    ?.slice(8)
    .replace(/^"|"$/g, "");
  return { type: type.trim().toLowerCase(), ...(charset ? { charset } : {}) };
}

const DIGITS = /^\d+$/;

/**
 * Reads at most `limit` bytes: refuses on Content-Length first. A body with a declared length is read whole, through
 * the runtime's own path (on Node that skips building a web stream, a fifth of a 100-file batch's cost): the server's
 * HTTP parser frames the body by that length, so no more can arrive. Not so with a Transfer-Encoding beside it:
 * Node and Deno refuse such a request, but workerd frames it as chunked and passes both headers on. A body without
 * a length of its own is counted chunk by chunk and abandoned past the limit. Either way what arrived is measured
 * again before it is used.
 */
async function readText(request: Request, limit: number): Promise<string> {
  const tooLarge = () => new HttpError(413, `request body is larger than ${limit} bytes`);
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge();
  const framed = declared !== null && DIGITS.test(declared) && !request.headers.has("transfer-encoding");
  const bytes = framed ? new Uint8Array(await request.arrayBuffer()) : await readAtMost(request.body, limit);
  if (bytes === null || bytes.byteLength > limit) throw tooLarge();
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new HttpError(400, "request body is not valid UTF-8");
  }
}

/** Parses a JSON or YAML body into a plain value. */
export async function readBody(request: Request, limit = MAX_BODY_BYTES): Promise<unknown> {
  const { type, charset } = mediaType(request.headers.get("content-type"));
  const yaml = YAML_TYPES.has(type);
  if (!yaml && !JSON_TYPES.has(type)) {
    throw new HttpError(415, `unsupported content type ${JSON.stringify(type || "(none)")}: send ${SUPPORTED}`);
  }
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    throw new HttpError(415, `unsupported charset ${JSON.stringify(charset)}: send UTF-8`);
  }
  const text = await readText(request, limit);
  if (text.trim() === "") throw new HttpError(400, "request body is empty");
  try {
    // Our bodies are flat maps: no aliases needed, so bound them (and depth) against alias bombs.
    return yaml ? load(text, { schema: CORE_SCHEMA, maxAliases: 16, maxDepth: 16 }) : JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : "";
    throw new HttpError(400, `request body is not valid ${yaml ? "YAML" : "JSON"}: ${reason}`);
  }
}

/** No resource nests this deep (YAML bodies are held to it as they are parsed). */
const MAX_PATCH_DEPTH = 16;

/**
 * RFC 7396 JSON Merge Patch: objects merge member by member, `null` removes a member, anything else replaces.
 * Members are defined as own properties, so a "__proto__" member stays a member (and is refused like any unknown one).
 * Merging recurses per level, and 64 KiB of JSON nests 12,000 deep: past MAX_PATCH_DEPTH it is a 400.
 */
export function mergePatch(target: unknown, patch: unknown, depth = 1): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  if (depth > MAX_PATCH_DEPTH) throw new HttpError(400, `the patch nests deeper than ${MAX_PATCH_DEPTH} levels`);
  const result: Record<string, unknown> = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else Object.defineProperty(result, name, { value: mergePatch(result[name], value, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return result;
}

export type AnswerFormat = "json" | "fhir+json" | "yaml";

/** What the client's Accept header asks for: YAML, FHIR JSON, or (by default) plain JSON. */
export function answerFormat(accept: string | null): AnswerFormat {
  if (!accept) return "json";
  const types = accept.split(",").map((part) => mediaType(part).type);
  return types.some((type) => YAML_TYPES.has(type)) ? "yaml" : types.includes("application/fhir+json") ? "fhir+json" : "json";
}

/** A string as a plain YAML scalar when it surely reads back as itself, else double-quoted (JSON's escapes are YAML's), ASCII only. */
function scalar(value: unknown): string {
  // Also quoted: what YAML 1.1 readers take for booleans or timestamps.
  if (typeof value === "string" && /^[\w./@+-][\w ./@+:=,-]*$/.test(value) && !/^(y|n|yes|no|on|off)$|^\d{4}-\d\d?-\d/i.test(value)) {
    try {
      if (load(value, { schema: CORE_SCHEMA }) === value) return value;
    } catch {
      // not plain: quoted below
    }
  }
  return (JSON.stringify(value) ?? "null").replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Block-style YAML of a JSON value (what js-yaml's dump gives our answers, without its 4 KB in the Worker). */
function toYaml(value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return " []";
    // `- key: ...`: an object item starts on the dash's line
    return value.map((item) => `\n${indent}- ${toYaml(item, `${indent}  `).replace(/^\n */, "").trimStart()}`).join("");
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter((entry) => entry[1] !== undefined);
    if (entries.length === 0) return " {}";
    return entries.map(([name, item]) => `\n${indent}${scalar(name)}:${toYaml(item, `${indent}  `)}`).join("");
  }
  return ` ${scalar(value)}`;
}

/** The answer in `format`; `json` writes the body as JSON.stringify does (presigned.ts has one made for its answers). */
export function render<T>(body: T, status: number, format: AnswerFormat, headers: Record<string, string> = {}, json: (body: T) => string = JSON.stringify): Response {
  const yaml = format === "yaml";
  return new Response(yaml ? `${toYaml(body, "").trimStart()}\n` : json(body), {
    status,
    headers: { "content-type": yaml ? "text/yaml; charset=utf-8" : `application/${format}; charset=utf-8`, ...headers },
  });
}
