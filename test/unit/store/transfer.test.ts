// store/transfer.ts importResources: what a store that fails part-way leaves, and what the error says.
import { describe, expect, it } from "vitest";
import { memoryStore } from "../../../src/store/memory.ts";
import type { Resource } from "../../../src/store/store.ts";
import { EXPORT_FORMAT, type ImportedResource, importResources, readExport } from "../../../src/store/transfer.ts";

const meta = { versionId: "1", lastUpdated: "2026-01-02T03:04:05.000Z" };
const client = (id: string): ImportedResource => ({ type: "Client", resource: { resourceType: "Client", id, meta } });

describe("importResources", () => {
  it("names the record a store failed on and how many were written before it; run again, it completes (a review, 2026-12-01)", async () => {
    const store = memoryStore<Resource>();
    let failing = true;
    const flaky = { ...store, put: (id: string, next: (previous: Resource | null) => Resource) => (id === "c2" && failing ? Promise.reject(new Error("connection terminated\nat line 2")) : store.put(id, next)) };
    const resources = [client("c1"), client("c2"), client("c3")];
    await expect(importResources({ Client: flaky }, resources)).rejects.toThrow(
      /^writing Client\/c2 failed \(Error: connection terminated\) after 1 of 3 resources were written: fix the cause and run the same import again \(it replaces what it wrote\)$/,
    );
    expect((await store.list()).map((resource) => resource.id)).toEqual(["c1"]);
    failing = false;
    expect(await importResources({ Client: flaky }, resources)).toEqual({ Client: { created: 2, replaced: 1 } });
    expect((await store.list()).map((resource) => resource.id).sort()).toEqual(["c1", "c2", "c3"]);
  });
});

describe("readExport", () => {
  const file = (...ids: string[]) =>
    [JSON.stringify({ format: EXPORT_FORMAT, exported: meta.lastUpdated, counts: { Client: ids.length } }), ...ids.map((id) => JSON.stringify({ resourceType: "Client", id, meta }))].join("\n");

  // No URL can name `.` or `..` (URL parsers remove dot segments): imported, such a record could never be read,
  // changed or deleted through the API.
  it("refuses the ids . and .., as the API does, and takes ids with dots in them", () => {
    for (const id of [".", "..", "", "a/b", "x".repeat(65)]) expect(() => readExport(file("c1", id), ["Client"]), id).toThrow(/^line 3: Client has no valid id$/);
    expect(readExport(file("c1", "a.b", "...", "-"), ["Client"]).resources.map((r) => r.resource.id)).toEqual(["c1", "a.b", "...", "-"]);
  });

  it("refuses a versionId that is not a whole number from 1: the next write counts on from it (\"v2\" made every later one \"NaN\"; a review, 2026-12-01)", () => {
    const withVersion = (versionId: string) =>
      [JSON.stringify({ format: EXPORT_FORMAT, exported: meta.lastUpdated, counts: { Client: 1 } }), JSON.stringify({ resourceType: "Client", id: "c1", meta: { ...meta, versionId } })].join("\n");
    for (const versionId of ["v2", "", "0", "01", "1.5", "-1", "1e3", "9".repeat(16)]) {
      expect(() => readExport(withVersion(versionId), ["Client"]), versionId).toThrow(/^line 2: Client\/c1 has meta.versionId .*, not a whole number from 1$/);
    }
    for (const versionId of ["1", "42", "9".repeat(15)]) expect(readExport(withVersion(versionId), ["Client"]).resources).toHaveLength(1);
  });
});
