// Export and import: every resource of some stores as NDJSON (one header line, then one resource per line, as
// stored: sealed values stay sealed, meta.versionId is kept), and back into any store. For backups and for moving
// between stores (Deno KV file, PostgreSQL, Deno KV). Generic: the resource types are handed in.
import { isResourceId, type Resource, type ResourceStore } from "./store.ts";

export const EXPORT_FORMAT = "signpost-export/1";

export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  exported: string;
  /** How many resources of each type follow. */
  counts: Record<string, number>;
}

type Stores = Record<string, ResourceStore<Resource>>;

/** The header line, then every resource of every store in turn (in id order), each a line. */
export async function exportLines(stores: Stores, now = Date.now): Promise<string[]> {
  const lists = await Promise.all(Object.entries(stores).map(async ([type, store]) => [type, await store.list()] as const));
  const header: ExportHeader = { format: EXPORT_FORMAT, exported: new Date(now()).toISOString(), counts: Object.fromEntries(lists.map(([type, all]) => [type, all.length])) };
  return [JSON.stringify(header), ...lists.flatMap(([, all]) => all.map((resource) => JSON.stringify(resource)))];
}

export class ImportError extends Error {
  override name = "ImportError";
}

export interface ImportedResource {
  type: string;
  resource: Resource & { resourceType: string };
}

/**
 * Reads an export, all of it, before anything is written: a line that is not a resource of a known type, an id
 * twice, a count that does not match the header (a cut file) is refused, naming the line. Lines before the header
 * that `npm run` prints (blank, or starting with "> ") are skipped.
 */
export function readExport(text: string, types: readonly string[]): { header: ExportHeader; resources: ImportedResource[] } {
  const lines = text.split("\n");
  let at = 0;
  while (at < lines.length && (lines[at]!.trim() === "" || lines[at]!.startsWith("> "))) at++;
  const line = (n: number) => `line ${n + 1}`;
  const parse = (n: number): unknown => {
    try {
      return JSON.parse(lines[n]!);
    } catch {
      throw new ImportError(`${line(n)} is not JSON`);
    }
  };
  if (at === lines.length) throw new ImportError(`no export found: the input is empty (expected a first line with "format":"${EXPORT_FORMAT}")`);
  const header = parse(at) as Partial<ExportHeader> | null;
  if (header?.format !== EXPORT_FORMAT || typeof header.counts !== "object" || header.counts === null) {
    throw new ImportError(`${line(at)} is not the header of a signpost export (format ${EXPORT_FORMAT}): ${typeof header?.format === "string" ? `format ${JSON.stringify(header.format)}` : "no format"}`);
  }
  const resources: ImportedResource[] = [];
  const seen = new Set<string>();
  for (let n = at + 1; n < lines.length; n++) {
    if (lines[n]!.trim() === "") continue;
    const resource = parse(n) as Partial<ImportedResource["resource"]> | null;
    const type = resource?.resourceType;
    if (typeof type !== "string" || !types.includes(type)) throw new ImportError(`${line(n)}: resourceType must be one of ${types.join(", ")}, not ${JSON.stringify(type ?? null)}`);
    if (typeof resource!.id !== "string" || !isResourceId(resource!.id)) throw new ImportError(`${line(n)}: ${type} has no valid id`);
    const meta = resource!.meta as Partial<Resource["meta"]> | undefined;
    if (typeof meta?.versionId !== "string" || typeof meta.lastUpdated !== "string") throw new ImportError(`${line(n)}: ${type}/${resource!.id} has no meta.versionId and meta.lastUpdated`);
    // The next write counts on from it (exactly, below 2^53): "v2" would make every later version "NaN".
    if (!/^[1-9]\d{0,14}$/.test(meta.versionId)) throw new ImportError(`${line(n)}: ${type}/${resource!.id} has meta.versionId ${JSON.stringify(meta.versionId)}, not a whole number from 1`);
    const key = `${type}/${resource!.id}`;
    if (seen.has(key)) throw new ImportError(`${line(n)}: ${key} appears twice`);
    seen.add(key);
    resources.push({ type, resource: resource as ImportedResource["resource"] });
  }
  for (const type of types) {
    const expected = (header.counts as Record<string, unknown>)[type] ?? 0;
    const found = resources.filter((r) => r.type === type).length;
    if (expected !== found) throw new ImportError(`the header counts ${String(expected)} ${type} but ${found} follow: the file is cut short or was edited`);
  }
  return { header: header as ExportHeader, resources };
}

/**
 * Writes what readExport read, each resource as it was (its versionId kept), replacing one of the same id; the caller
 * checks every resource first (runtime/cli.ts), so that a refusal writes nothing. Writing is one record at a time: a
 * store that fails part-way (a dropped connection, a value too large for Deno KV) leaves the ones before written, and
 * the error says which and how many; the same import run again replaces them and writes the rest.
 */
export async function importResources(stores: Stores, resources: ImportedResource[]) {
  const counts: Record<string, { created: number; replaced: number }> = Object.fromEntries(Object.keys(stores).map((type) => [type, { created: 0, replaced: 0 }]));
  for (const [written, { type, resource }] of resources.entries()) {
    try {
      const { previous } = await stores[type]!.put(resource.id, () => resource);
      counts[type]![previous ? "replaced" : "created"]++;
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message.split("\n")[0]}` : String(error);
      throw new Error(`writing ${type}/${resource.id} failed (${reason}) after ${written} of ${resources.length} resources were written: fix the cause and run the same import again (it replaces what it wrote)`);
    }
  }
  return counts;
}
