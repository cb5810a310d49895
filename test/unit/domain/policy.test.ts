// domain/policy.ts on its own: what a caller may do, templates filled in, and the "within" rule managers live by.
import { describe, expect, it } from "vitest";
import {
  ADMIN, authorizePresign, type Caller, callerName, effectivePolicy, isWithin, type Policy, policyWithin, requireAccount,
  requireAccountGrants, requireBucket, requireOperation,
} from "../../../src/domain/policy.ts";
import { HttpError } from "../../../src/errors.ts";

const client = (id: string, policy: Partial<Policy>): Caller => ({ admin: false, id, policy: { operations: [], accounts: ["*"], buckets: ["*"], ...policy } });
const refused = (act: () => unknown, pattern: RegExp) => {
  let error: unknown;
  try {
    act();
  } catch (thrown) {
    error = thrown;
  }
  expect(error).toBeInstanceOf(HttpError);
  expect((error as HttpError).status).toBe(403);
  expect((error as HttpError).message).toMatch(pattern);
};

describe("callers", () => {
  it("names the admin admin, and a client Client/<id>, whatever its id", () => {
    expect(callerName(ADMIN)).toBe("admin");
    expect(callerName(client("admin", {}))).toBe("Client/admin");
  });

  it("grants the admin everything, and a client only what its policy names", () => {
    requireOperation(ADMIN, "manage-accounts");
    requireAccount(ADMIN, "any");
    requireBucket(ADMIN, "any");
    const reader = client("r", { operations: ["download"], accounts: ["acc"], buckets: ["b-1"] });
    requireOperation(reader, "download");
    refused(() => requireOperation(reader, "manage-clients"), /^this client may not manage clients$/);
    refused(() => requireAccount(reader, "other"), /^this client may not use AwsAccount\/other$/);
    refused(() => requireBucket(reader, "b-2"), /^this client may not use bucket b-2$/);
  });
});

describe("authorizePresign", () => {
  const alice = client("alice", { operations: ["upload", "download"], accounts: ["acc"], prefixes: ["users/{client}/", "users/{client}/deep/", "shared/"], "max-expiration": 600 });
  const ask = (key: string, expiration?: number, operation: "upload" | "download" | "delete" = "download") =>
    authorizePresign(alice, { operation, account: "acc", bucket: "b-1", key, expiration }, 86400);

  it("fills {client} in, and answers the longest prefix that allows the key", () => {
    expect(ask("users/alice/a.txt")).toEqual({ expiration: 600, prefix: "users/alice/" });
    expect(ask("users/alice/deep/a.txt")).toEqual({ expiration: 600, prefix: "users/alice/deep/" });
    expect(ask("shared/x")).toEqual({ expiration: 600, prefix: "shared/" });
    refused(() => ask("users/bob/a.txt"), /allowed prefixes: users\/alice\/, users\/alice\/deep\/, shared\//);
    refused(() => ask("users/{client}/a.txt"), /allowed prefixes/);
  });

  it("takes the asked expiration up to max-expiration; the default is cut to it", () => {
    expect(ask("shared/x", 60).expiration).toBe(60);
    refused(() => ask("shared/x", 601), /over 600 seconds/);
    expect(authorizePresign(ADMIN, { operation: "delete", account: "x", bucket: "b-1", key: "k", expiration: undefined }, 86400)).toEqual({ expiration: 86400 });
  });

  it("refuses an operation, an account or a bucket the policy does not name", () => {
    refused(() => ask("shared/x", undefined, "delete"), /may not delete/);
    refused(() => authorizePresign(alice, { operation: "download", account: "other", bucket: "b-1", key: "shared/x", expiration: undefined }, 86400), /AwsAccount\/other/);
  });
});

describe("within", () => {
  const team: Policy = { operations: ["manage-clients", "download"], accounts: ["acc"], buckets: ["b-1"], prefixes: ["users/{client}/"] };

  it("compares templates filled in for each side", () => {
    expect(policyWithin(effectivePolicy(team, "bob"), effectivePolicy(team, "mgr"))).toBe(false);
    expect(policyWithin(effectivePolicy(team, "mgr"), effectivePolicy(team, "mgr"))).toBe(true);
    expect(isWithin(client("mgr", team), "bob", team)).toBe(false);
    expect(isWithin(client("mgr", team), "worker", { ...team, prefixes: ["users/mgr/x/"] })).toBe(true);
    expect(isWithin(ADMIN, "anyone", { operations: ["manage-accounts"], accounts: ["*"], buckets: ["*"] })).toBe(true);
  });

  it.each([
    ["another operation", { operations: ["upload"] }],
    ["any account", { accounts: ["*"] }],
    ["another bucket", { buckets: ["b-2"] }],
    ["no prefix at all", { prefixes: undefined }],
    ["a prefix outside", { prefixes: ["users/"] }],
    ["a longer lifetime", { "max-expiration": 700 }],
  ] as [string, Partial<Policy>][])("refuses %s", (_, change) => {
    const outer: Policy = { operations: ["download"], accounts: ["acc"], buckets: ["b-1"], prefixes: ["users/mgr/"], "max-expiration": 600 };
    const inner: Policy = { ...outer, ...change } as Policy;
    if ("prefixes" in change && change.prefixes === undefined) delete inner.prefixes;
    expect(policyWithin(inner, outer)).toBe(false);
    expect(policyWithin(outer, outer)).toBe(true);
  });
});

describe("requireAccountGrants", () => {
  const manager = client("ops", { operations: ["manage-accounts"] });
  const granted = client("platform", { operations: ["manage-accounts", "use-default-credentials", "assume-role"] });

  it("needs use-default-credentials without keys, assume-role with a role, the admin for a host without keys or single-tenant", () => {
    requireAccountGrants(manager, { "access-key-id": "AKID" });
    refused(() => requireAccountGrants(manager, {}), /may not use default credentials/);
    refused(() => requireAccountGrants(manager, { "access-key-id": "AKID", "role-arn": "arn:aws:iam::1:role/x" }), /may not assume role/);
    refused(() => requireAccountGrants(manager, { "access-key-id": "AKID", "single-tenant": true }), /only the admin may set single-tenant/);
    requireAccountGrants(granted, { "role-arn": "arn:aws:iam::1:role/x" });
    refused(() => requireAccountGrants(granted, { host: "other.s3.us-east-1.amazonaws.com" }), /only the admin may give an account without keys a host/);
    requireAccountGrants(ADMIN, { host: "minio:9000", "single-tenant": true });
  });
});
