// http/body.ts: YAML answers that read back as the JSON they stand for; FHIR JSON in and out.
import { CORE_SCHEMA, load } from "js-yaml";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { render } from "../../../src/http/body.ts";
import type { AwsAccount } from "../../../src/domain/account.ts";
import { createTestApp, KEYS } from "../../app.ts";

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

describe("FHIR JSON", () => {
  it("takes application/fhir+json bodies and answers with it when Accept asks", async () => {
    const { call } = createTestApp();
    const created = await call({ method: "PUT", path: "/AwsAccount/acc", body: { resourceType: "AwsAccount", region: "us-east-1", ...KEYS }, headers: { "content-type": "application/fhir+json", accept: "application/fhir+json" } });
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get("content-type")).toBe("application/fhir+json; charset=utf-8");
    expect((await call({ method: "GET", path: "/AwsAccount/acc" })).headers.get("content-type")).toBe("application/json; charset=utf-8");
    const error = await call({ method: "GET", path: "/AwsAccount/nope", headers: { accept: "application/fhir+json" } });
    expect(error.headers.get("content-type")).toBe("application/fhir+json; charset=utf-8");
    expect(error.json.resourceType).toBe("OperationOutcome");
  });
});

describe("JSON Merge Patch bodies", () => {
  // A review (2026-12-01): 12,000 levels fit in 64 KiB, and merging them overflowed the stack (a 500).
  const deep = (levels: number) => `{"x":${'{"":'.repeat(levels)}1${"}".repeat(levels)}}`;
  it.each([
    ["/AwsAccount/acc", (t: ReturnType<typeof createTestApp>) => t.putAccount("acc", { region: "us-east-1", ...KEYS })],
    ["/Client/app", (t: ReturnType<typeof createTestApp>) => t.createClient("app", { operations: ["download"] })],
    ["/TokenIntrospector/idp", (t: ReturnType<typeof createTestApp>) => t.call({ method: "PUT", path: "/TokenIntrospector/idp", body: { type: "jwt", jwt: { iss: "https://idp.example.com" }, policy: { operations: ["download"] } } })],
  ] as const)("nested past 16 levels are refused with 400, not a 500 (PATCH %s)", async (path, setup) => {
    const t = createTestApp();
    await setup(t);
    const body = deep(12_000);
    expect(body.length).toBeLessThan(64 * 1024);
    const answer = await t.call({ method: "PATCH", path, body, headers: { "content-type": "application/merge-patch+json" } });
    expect(t.logs.filter((entry) => entry.level === "error")).toEqual([]);
    expect(answer.status).toBe(400);
    expect(answer.json.issue[0].diagnostics).toMatch(/nests deeper than 16 levels/);
    // 16 levels are merged (and then judged by the resource's own rules).
    const sixteen = await t.call({ method: "PATCH", path, body: deep(15), headers: { "content-type": "application/merge-patch+json" } });
    expect(sixteen.json.issue[0].diagnostics).not.toMatch(/nests deeper/);
  });
});
