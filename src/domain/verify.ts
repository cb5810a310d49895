// POST /AwsAccount/<id>/$verify?bucket=<b>: what an operator should know before handing out URLs for a bucket,
// found by asking S3 (never by writing to it): do the credentials work, is the clock right, does the server refuse
// unsigned x-amz-* headers, can client URLs be narrowed, is Object Lock on, does CORS expose ETag.
// The answer is a FHIR OperationOutcome with one issue per check (information, warning or error).
import type { AwsAccount } from "./account.ts";
import type { BackendChecks } from "../aws/probe.ts";
import { HttpError } from "../errors.ts";
import type { S3Client } from "../aws/s3.ts";
import { PROBE_POLICY, type Signing } from "./signing.ts";
import type { Credentials } from "../aws/signer.ts";
import { errorText } from "../aws/xml.ts";

type Severity = "information" | "warning" | "error";
interface Issue {
  severity: Severity;
  code: string;
  details: { coding: { system: string; code: string }[] };
  diagnostics: string;
}

const CHECKS = "urn:signpost:verify";
const MAX_SKEW_S = 900; // AWS refuses header-signed requests more than 15 minutes off

const message = (error: unknown) => (error instanceof HttpError ? error.message : error instanceof Error ? error.message : String(error));

export async function verifyAccount(deps: { account: AwsAccount; bucket: string; signing: Signing; checks: BackendChecks; s3: S3Client; now: () => number }) {
  const { account, bucket, signing, checks, s3 } = deps;
  const issue: Issue[] = [];
  const say = (check: string, severity: Severity, code: string, diagnostics: string) =>
    issue.push({ severity, code, details: { coding: [{ system: CHECKS, code: check }] }, diagnostics });
  const outcome = () => ({ resourceType: "OperationOutcome", issue });

  let credentials: Credentials;
  try {
    credentials = await signing.accountCredentials(account);
  } catch (error) {
    say("credentials", "error", "login", `no credentials: ${message(error)}`);
    return outcome();
  }
  const source = account["role-arn"] ? `role ${account["role-arn"]}` : account["access-key-id"] ? "the account's keys" : "the default credentials";
  say("credentials", "information", "informational", `credentials from ${source}${credentials.expiration ? `, valid until ${credentials.expiration.toISOString()}` : ""}`);

  // GetBucketLocation: the cheapest call that proves keys, signature, clock and bucket at once.
  try {
    const sent = deps.now();
    const answer = await s3.send({ account, credentials, what: "GetBucketLocation", method: "GET", bucket, key: "", query: { location: "" } });
    const { code, text } = errorText(answer.text);
    if (answer.status === 200) say("access", "information", "informational", `S3 accepted a signed request for bucket ${bucket}`);
    else if (code === "RequestTimeTooSkewed") say("clock", "error", "processing", `S3 says this machine's clock is off (${text})`);
    else if (answer.status === 404) say("access", "error", "not-found", `bucket ${bucket}: HTTP 404 ${text}`);
    else say("access", "error", "login", `S3 refused the credentials for bucket ${bucket}: HTTP ${answer.status} ${text || "(no reason given)"}`);
    const serverTime = Date.parse(answer.headers.get("date") ?? "");
    if (!Number.isNaN(serverTime)) {
      const skew = Math.round((serverTime - sent) / 1000);
      if (Math.abs(skew) > MAX_SKEW_S) say("clock", "error", "processing", `this machine's clock is ${Math.abs(skew)} s ${skew > 0 ? "behind" : "ahead of"} S3's: signed requests will be refused`);
      else if (Math.abs(skew) > 60) say("clock", "warning", "processing", `this machine's clock is ${Math.abs(skew)} s off S3's`);
    }
  } catch (error) {
    say("access", "error", "transient", message(error));
    return outcome();
  }

  const facts = await checks.probe(account, credentials, bucket);
  const strict = facts.unsignedHeaders === "refused";
  say("unsigned-headers", strict ? "information" : "warning", strict ? "informational" : "security", facts.seen.headers);
  const forms = facts.formFields === "enforced";
  say("form-fields", forms ? "information" : "warning", forms ? "informational" : "security", `${facts.seen.form}: client forms are ${forms || account["single-tenant"] ? "handed out" : "refused"}`);

  // What that means for clients, and whether the role takes a session policy.
  let scoped = false;
  if (account["role-arn"]) {
    // Does STS take a session policy, and does S3 then hold the credentials to it?
    const held = await checks.sessionPolicyHolds(account, credentials, bucket, () => signing.assumeScoped(account, PROBE_POLICY(bucket)), true);
    scoped = held.holds === true;
    if (scoped) say("scoped-credentials", "information", "informational", `${held.detail}: client URLs are signed with credentials narrowed to each client's grant`);
    else say("scoped-credentials", "error", "security", `client URLs cannot be narrowed here: ${held.detail}`);
  }
  if (!strict && facts.objectLock !== false) {
    say("object-lock", "warning", "security", facts.objectLock ? `bucket ${bucket} has Object Lock enabled: on this server any upload URL could lock its object` : facts.seen.lock);
  }
  const clientUploads =
    strict ? "allowed (S3 refuses unsigned headers)"
    : account["single-tenant"] ? "allowed (single-tenant: every client is trusted with the account's credentials)"
    : scoped && facts.objectLock === false ? "allowed, signed with credentials narrowed to each client's grant"
    : "refused: give the account a role-arn whose STS takes session policies (and a bucket without Object Lock), or set single-tenant: true";
  say("client-uploads", clientUploads.startsWith("refused") ? "warning" : "information", clientUploads.startsWith("refused") ? "security" : "informational", `client upload URLs for ${bucket}: ${clientUploads}`);

  try {
    const cors = await s3.send({ account, credentials, what: "GetBucketCors", method: "GET", bucket, key: "", query: { cors: "" } });
    if (cors.status === 200) {
      const rules = [...cors.text.matchAll(/<CORSRule>[\s\S]*?<\/CORSRule>/g)].map(([rule]) => rule);
      const exposesEtag = rules.some((rule) => [...rule.matchAll(/<ExposeHeader>([^<]*)<\/ExposeHeader>/g)].some(([, header]) => header!.trim().toLowerCase() === "etag"));
      if (exposesEtag) say("cors", "information", "informational", `CORS: ${rules.length} rule(s), ETag exposed`);
      else say("cors", "warning", "incomplete", "CORS: no rule has ExposeHeader ETag, so browsers cannot read part ETags (multipart uploads fail in browsers)");
    } else {
      const { code } = errorText(cors.text);
      say("cors", "warning", "incomplete", code === "NoSuchCORSConfiguration" ? `bucket ${bucket} has no CORS configuration: browsers on other origins cannot use its URLs` : `CORS could not be read (HTTP ${cors.status}${code ? ` ${code}` : ""})`);
    }
  } catch (error) {
    say("cors", "warning", "incomplete", `CORS could not be read (${message(error)})`);
  }
  return outcome();
}
