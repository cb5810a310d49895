// The FHIR parts of the answers: meta (versionId, lastUpdated), ETag and Location, searchset Bundles, version reads.
import { HttpError, operationOutcome } from "../errors.ts";

interface Versioned {
  resourceType: string;
  id: string;
  meta: { versionId: string; lastUpdated: string };
}

/** The meta of the version after `previous` (the first when there is none). */
export const nextMeta = (previous: { meta: { versionId: string } } | null, now: number) => ({
  versionId: String(Number(previous?.meta.versionId ?? 0) + 1),
  lastUpdated: new Date(now).toISOString(),
});

/** ETag always; Location when the write created the resource (its version URL, served while it is current). */
export function versionHeaders(resource: Versioned, created: boolean): Record<string, string> {
  const headers: Record<string, string> = { etag: `W/"${resource.meta.versionId}"` };
  if (created) headers.location = `/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
  return headers;
}

/** `resource` if `version` is its current versionId; signpost keeps no older versions. */
export function currentVersion<T extends Versioned>(resource: T, version: string | undefined): T {
  if (version === resource.meta.versionId) return resource;
  throw new HttpError(404, `${resource.resourceType}/${resource.id} version ${JSON.stringify(version)} is not kept: only the current one, ${resource.meta.versionId}`);
}

/** A searchset Bundle: the resources that read back well, and an outcome entry for each one that did not. */
export function searchset<T>(resources: T[], view: (resource: T) => unknown, problem: (resource: T) => string | undefined) {
  const entry = resources.map((resource) => {
    const reason = problem(resource);
    if (reason === undefined) return { resource: view(resource) };
    return { search: { mode: "outcome" }, resource: operationOutcome(500, reason) };
  });
  return { resourceType: "Bundle", type: "searchset", total: entry.filter((e) => !e.search).length, entry };
}
