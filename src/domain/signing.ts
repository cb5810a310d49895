// Which credentials sign what signpost hands out, and whether a client may be handed it at all.
//
// A URL is a credential: on a server that acts on unsigned x-amz-* headers (Ceph RGW, MinIO), its holder can add
// x-amz-copy-source, x-amz-acl and the like, and S3 judges them with the signer's permissions. So a client's URLs
// are signed with credentials S3 itself limits to the client's grant (STS session policies, for accounts with a
// role-arn), and where that is impossible, a client gets no upload URL from such a server unless the account says
// all its clients are trusted (single-tenant). The admin's URLs are signed with the account's own credentials.
import type { AwsAccount } from "./account.ts";
import type { BackendChecks, BucketFacts } from "../aws/probe.ts";
import type { Caller, ObjectOperation, PresignGrant } from "./policy.ts";
import type { CredentialProvider } from "../credentials/provider.ts";
import type { RoleCredentials } from "./roles.ts";
import { HttpError } from "../errors.ts";
import { objectLocation } from "../aws/s3url.ts";
import { openedSecrets, type Sealer } from "../crypto/seal.ts";
import { sessionPolicy } from "../aws/session-policy.ts";
import type { Credentials } from "../aws/signer.ts";

/**
 * The S3 actions each object operation needs. An upload's also list and abort its multipart uploads: a browser
 * driving one (Uppy through $sign) sends ListParts and AbortMultipartUpload to S3 itself.
 */
const ACTIONS: Record<ObjectOperation, string[]> = {
  upload: ["s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
  download: ["s3:GetObject"],
  delete: ["s3:DeleteObject"],
};
/** What the check of session policies narrows to: uploads under signpost-probe/ (it tries one outside). */
export const PROBE_POLICY = (bucket: string) => (sessionPolicy(ACTIONS.upload, bucket, "signpost-probe/") as { policy: string }).policy;

export interface SigningDeps {
  sealer: Sealer;
  /** The default chain, for accounts without access-key-id. */
  credentials: CredentialProvider;
  roles?: RoleCredentials;
  checks: BackendChecks;
}

export interface UrlRequest {
  caller: Caller;
  account: AwsAccount;
  bucket: string;
  grant: PresignGrant;
  /**
   * `url`: GET, HEAD or DELETE; `write`: PUT and part URLs (and the upload they belong to), which their holder can
   * send with headers of its own; `create`: a CreateMultipartUpload URL, a write whose headers also set the upload's
   * ACL; `form`: a POST policy, whose fields S3 must hold to the policy.
   */
  use: "url" | "write" | "create" | "form";
}

export function createSigning(deps: SigningDeps) {
  const open = openedSecrets(deps.sealer);
  const openSecret = (account: AwsAccount): Promise<string> => open(`AwsAccount/${account.id}`, account["secret-access-key"] ?? "");

  /** What the account's role is assumed with: its keys, else the default chain. */
  const sourceOf = (account: AwsAccount): CredentialProvider =>
    account["access-key-id"] ? async () => ({ accessKeyId: account["access-key-id"]!, secretAccessKey: await openSecret(account) }) : deps.credentials;

  const assume = (account: AwsAccount, policy?: string): Promise<Credentials> => {
    if (!deps.roles) throw new HttpError(503, "role-arn is set, but this runtime has no role assumption configured");
    return deps.roles(account, sourceOf(account), policy);
  };

  /** The account's role narrowed by a session policy. */
  const assumeScoped = (account: AwsAccount, policy: string) => assume(account, policy);

  /** The account's own credentials (its role's, when it has one), unscoped: for the admin and signpost's own calls. */
  const accountCredentials = (account: AwsAccount): Promise<Credentials> => (account["role-arn"] ? assume(account) : sourceOf(account)());

  /** The credentials that sign a URL or form for `request.caller`, or a 403 saying why it cannot have one. */
  async function urlCredentials({ caller, account, bucket, grant, use }: UrlRequest): Promise<Credentials> {
    if (caller.admin) return accountCredentials(account);
    if (use === "form") {
      // The form's own policy binds bucket, key, type and size, and nothing else can be added where S3 refuses
      // fields it does not name. (Not session credentials: RGW 16 answers 204 to a form signed with them, and
      // stores nothing.)
      const credentials = await accountCredentials(account);
      if (!account["single-tenant"]) {
        const facts = await deps.checks.facts(account, credentials, bucket);
        if (facts.formFields !== "enforced") throw new HttpError(403, formRefusal(account, bucket, facts));
      }
      return credentials;
    }
    // An upload, part or create URL gets the upload actions alone. With s3:GetObject too, an unsigned
    // x-amz-copy-source (which RGW acts on) would copy any object of the client's prefix over the key: of any size
    // and type, and over an existing object whatever If-None-Match says, around max-size, content-types and
    // no-overwrite.
    const actions = use === "write" || use === "create"
      ? ACTIONS.upload
      : Object.entries(ACTIONS).filter(([operation]) => caller.policy.operations.includes(operation as ObjectOperation)).flatMap(([, actions]) => actions);
    const scope = account["role-arn"] ? sessionPolicy(actions, bucket, grant.prefix) : { reason: "the account has no role-arn to narrow" };
    if ((use === "write" || use === "create") && !account["single-tenant"]) {
      const own = await accountCredentials(account);
      const facts = await deps.checks.facts(account, own, bucket);
      if (facts.unsignedHeaders !== "refused") {
        // Ceph RGW 16 does not judge x-amz-acl or x-amz-grant-* on CreateMultipartUpload against a session policy, and
        // the upload's object takes the ACL they set: no narrowing keeps such a URL from publishing the file.
        if (use === "create") throw new HttpError(403, createRefusal(account, bucket, facts));
        if (!("policy" in scope)) throw new HttpError(403, unscopedRefusal(account, bucket, facts, scope.reason));
        if (facts.objectLock !== false) throw new HttpError(403, objectLockRefusal(account, bucket, facts));
        // Narrowed credentials are the only guard here: the server must be seen to enforce them.
        const scoped = await deps.checks.sessionPolicyHolds(account, own, bucket, () => assumeScoped(account, PROBE_POLICY(bucket)));
        if (scoped.holds !== true) throw new HttpError(403, unscopedRefusal(account, bucket, facts, scoped.detail));
      }
    }
    return "policy" in scope ? assume(account, scope.policy) : accountCredentials(account);
  }


  return { accountCredentials, urlCredentials, assumeScoped };
}

export type Signing = ReturnType<typeof createSigning>;

const serverOf = (account: AwsAccount, bucket: string) => `S3 at ${objectLocation(account, bucket, "").host}`;
const behaviour = (facts: BucketFacts) =>
  facts.unsignedHeaders === "honoured" ? "acts on x-amz-* headers that a presigned URL does not sign" : "could not be shown to refuse x-amz-* headers that a presigned URL does not sign";

function unscopedRefusal(account: AwsAccount, bucket: string, facts: BucketFacts, reason: string): string {
  return (
    `no upload URL for this client: ${serverOf(account, bucket)} ${behaviour(facts)} (${facts.seen.headers}), so a URL signed with ` +
    `AwsAccount/${account.id}'s credentials could copy any object they can read, or make it public; and they cannot be narrowed ` +
    `to this client (${reason}). Fix: give the account a role-arn (client URLs are then signed with credentials limited to the ` +
    `client's grant), or set single-tenant: true on it if every client may do all that its credentials can (README, Security model)`
  );
}

function createRefusal(account: AwsAccount, bucket: string, facts: BucketFacts): string {
  return (
    `no CreateMultipartUpload URL for this client: ${serverOf(account, bucket)} ${behaviour(facts)}, and on such a server ` +
    `(Ceph RGW 16) the URL's holder can add x-amz-acl or x-amz-grant-* to make the upload public, which no session policy ` +
    `forbids there. Fix: let signpost create the upload (the Companion routes' POST /s3/multipart, or $create-multipart), or ` +
    `set single-tenant: true on AwsAccount/${account.id} if every client may do all that its credentials can (README, Uppy)`
  );
}

function formRefusal(account: AwsAccount, bucket: string, facts: BucketFacts): string {
  return (
    `no form for this client: ${serverOf(account, bucket)} ${facts.formFields === "ignored" ? "does not hold" : "could not be shown to hold"} ` +
    `form uploads to their policy (${facts.seen.form}), so a form could carry fields signpost never signed (an ACL, say). Fix: ` +
    `use upload URLs instead, or set single-tenant: true on AwsAccount/${account.id} if every client may do all that its credentials can`
  );
}

function objectLockRefusal(account: AwsAccount, bucket: string, facts: BucketFacts): string {
  return (
    `no upload URL for this client: ${serverOf(account, bucket)} ${behaviour(facts)}, and bucket ${bucket} ` +
    `${facts.objectLock ? "has S3 Object Lock enabled" : `may have S3 Object Lock enabled (${facts.seen.lock})`}: ` +
    `any upload URL could lock its object for years, which no session policy forbids on that server. Fix: use a bucket without ` +
    `Object Lock, or set single-tenant: true on AwsAccount/${account.id} (README, Security model)`
  );
}
