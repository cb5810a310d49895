// YAML answers (src/body.ts render) without js-yaml's dump: block style, and every value reads back as itself,
// also for YAML 1.1 readers (no bare yes/no/on/off or timestamps).
import { CORE_SCHEMA, load } from "js-yaml";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { render } from "../../src/body.ts";

const yaml = (value: unknown) => render(value, 200, "yaml").text();

describe("YAML answers", () => {
  it("are block style, plain where safe", async () => {
    const text = await yaml({ resourceType: "Bundle", total: 1, entry: [{ resource: { id: "a", meta: { versionId: "7" }, "path-style": true, tags: [] } }], empty: {} });
    expect(text).toBe(
      'resourceType: Bundle\ntotal: 1\nentry:\n  - resource:\n      id: a\n      meta:\n        versionId: "7"\n      path-style: true\n      tags: []\nempty: {}\n',
    );
  });

  it.each(["yes", "No", "on", "OFF", "y", "2026-01-02", "2026-01-02T03:04:05Z", "true", "null", "~", "1e3", "0x1f", ".inf", "a: b", "#x", "x ", " x", "", "- a", "ü", "a\nb", '"q"'])(
    "quotes %j",
    async (value) => {
      const text = await yaml({ value });
      expect(text).toMatch(/^value: "/);
      expect(text).toMatch(/^[\x20-\x7e\n]*$/);
      expect((load(text) as { value: unknown }).value).toBe(value);
    },
  );

  it("reads back as the same value, for any JSON value", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const text = await yaml({ value });
        expect(JSON.stringify(load(text, { schema: CORE_SCHEMA }))).toBe(JSON.stringify({ value: JSON.parse(JSON.stringify(value)) }));
      }),
      { numRuns: 2000, seed: 6 },
    );
  });
});
