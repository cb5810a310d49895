// What a policy may say, checked the one way for every resource that holds one (a Client's, a TokenIntrospector's):
// operations from the resource's own list, account and bucket lists, key prefixes with the placeholders the
// resource fills in, max-expiration, and the upload limits max-size and content-types. Each failure is a 400 naming the field.
import { invalidFor, objectFields, wholeNumber } from "./fields.ts";
import type { Operation, Policy } from "./policy.ts";
import { MAX_EXPIRATION } from "./presign.ts";
import { CONTENT_TYPE_PATTERN, MAX_PUT } from "./upload-limits.ts";

export interface PolicyRules {
  /** The resource type, for messages: "Client", "TokenIntrospector". */
  what: string;
  operations: readonly Operation[];
  /** The placeholders prefixes may hold (a global pattern); each must end a path segment, i.e. be followed by '/'. */
  placeholders: RegExp;
  /** Braces outside a placeholder are refused: a mistyped placeholder would otherwise be a literal folder name. */
  strictBraces?: boolean;
}

const FIELDS = new Set(["operations", "accounts", "buckets", "prefixes", "max-expiration", "max-size", "content-types"]);

export function parsePolicy(value: unknown, rules: PolicyRules): Policy {
  const invalid: (message: string) => never = invalidFor(rules.what);
  const list = (entries: unknown, name: string, pattern: RegExp, rule: string): string[] => {
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > 100) invalid(`policy.${name} must be a list of 1 to 100 entries`);
    for (const entry of entries) {
      if (typeof entry !== "string" || !pattern.test(entry)) invalid(`policy.${name}: ${rule}`);
    }
    return [...new Set(entries as string[])];
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) invalid("policy is required and must be an object");
  const policy = objectFields(value, `${rules.what} policy`, FIELDS);

  const operations = list(policy.operations, "operations", /^[a-z-]+$/, `each must be one of ${rules.operations.join(", ")}`);
  for (const operation of operations) {
    if (!(rules.operations as readonly string[]).includes(operation)) invalid(`policy.operations: each must be one of ${rules.operations.join(", ")}`);
  }
  const parsed: Policy = {
    operations: operations as Operation[],
    // Left out means every one; an explicit null (YAML's `accounts:` with nothing after it) is a mistake, not "*".
    accounts: list(policy.accounts === undefined ? ["*"] : policy.accounts, "accounts", /^(\*|[A-Za-z0-9.-]{1,64})$/, 'each must be an account id or "*"'),
    buckets: list(policy.buckets === undefined ? ["*"] : policy.buckets, "buckets", /^(\*|[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/, 'each must be a bucket name or "*"'),
  };
  if (policy.prefixes !== undefined) {
    parsed.prefixes = list(policy.prefixes, "prefixes", /^[^\u0000-\u001f\u007f]{1,512}$/, "each must be 1 to 512 characters without control characters");
    for (const prefix of parsed.prefixes) {
      // users/{client} would let client app1 into users/app10/: a placeholder must be a whole path segment.
      for (const match of prefix.matchAll(rules.placeholders)) {
        if (prefix[match.index + match[0].length] !== "/") {
          const fixed = prefix.replace(rules.placeholders, (placeholder, at: number) => (prefix[at + placeholder.length] === "/" ? placeholder : `${placeholder}/`));
          invalid(`policy.prefixes: ${match[0]} must be followed by '/' (${JSON.stringify(prefix)} would also match longer values: write ${JSON.stringify(fixed)})`);
        }
      }
      if (rules.strictBraces && /[{}]/.test(prefix.replace(rules.placeholders, ""))) {
        invalid(`policy.prefixes: ${JSON.stringify(prefix)} has a brace outside a placeholder (${rules.placeholders.source.replaceAll("\\", "")})`);
      }
    }
  }
  const max = wholeNumber(policy["max-expiration"], rules.what, "policy.max-expiration", 1, MAX_EXPIRATION);
  if (max !== undefined) parsed["max-expiration"] = max;
  // A multipart upload may be larger than one PUT: 10000 parts of 5 GiB.
  const maxSize = wholeNumber(policy["max-size"], rules.what, "policy.max-size", 0, 10_000 * MAX_PUT);
  if (maxSize !== undefined) parsed["max-size"] = maxSize;
  if (policy["content-types"] !== undefined) {
    parsed["content-types"] = list(policy["content-types"], "content-types", CONTENT_TYPE_PATTERN, "each must be a media type in lower case without parameters, such as image/png, or a type with /* (image/*)");
  }
  return parsed;
}
