// The inline session policy (STS AssumeRole `Policy`) that narrows a role to some S3 actions in one bucket under one
// prefix (domain/signing.ts makes one per client grant). S3 then enforces the grant itself: a URL signed with such
// credentials cannot copy from elsewhere (x-amz-copy-source needs s3:GetObject on the source), write outside the prefix, or set an ACL.
//
// Only Allow statements: Ceph RGW mis-evaluates Deny with conditions. The condition refuses any ACL or grant header
// (RGW, like AWS, passes them as s3:x-amz-acl and s3:x-amz-grant-*; "IfExists" keeps GET and DELETE, which carry
// none, allowed). Checked against RGW 16 in test/e2e/security.test.ts.
const ACL_KEYS = ["s3:x-amz-acl", "s3:x-amz-grant-full-control", "s3:x-amz-grant-read", "s3:x-amz-grant-read-acp", "s3:x-amz-grant-write", "s3:x-amz-grant-write-acp"];
/** AWS's limit for the plain text of a session policy. */
export const MAX_SESSION_POLICY = 2048;
/**
 * Characters a resource ARN cannot hold literally: `*` and `?` are wildcards, `${` starts a policy variable (RGW
 * has no `${*}` escapes), and RGW's ARN parser refuses a `:` in the resource.
 */
const NOT_LITERAL = /[*?$:]/;

/**
 * The session policy allowing `actions` (s3:GetObject, ...) on keys starting with `prefix` (any key when undefined)
 * in `bucket`, as compact JSON; or a reason why no policy can say exactly that.
 */
export function sessionPolicy(actions: readonly string[], bucket: string, prefix: string | undefined): { policy: string } | { reason: string } {
  if (prefix !== undefined && NOT_LITERAL.test(prefix)) {
    return { reason: `the prefix ${JSON.stringify(prefix)} has a character (* ? $ :) that an IAM policy cannot match literally` };
  }
  if (actions.length === 0) return { reason: "the client has no object operations" };
  const condition = { StringNotLikeIfExists: Object.fromEntries(ACL_KEYS.map((key) => [key, "?*"])) };
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: actions, Resource: [`arn:aws:s3:::${bucket}/${prefix ?? ""}*`], Condition: condition }],
  });
  if (policy.length > MAX_SESSION_POLICY) return { reason: `its session policy would be ${policy.length} characters, over STS's ${MAX_SESSION_POLICY}` };
  return { policy };
}
