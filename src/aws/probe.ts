// What an account's S3 server does with a presigned request that carries x-amz-* headers it did not sign. AWS,
// Garage, SeaweedFS and versitygw refuse it; Ceph RGW and MinIO act on it (x-amz-copy-source turns an upload into
// a copy of anything the signer can read, x-amz-acl publishes it). The probe: a signed GET of an absent key (it
// must answer 404, which proves the credentials and clock), then a presigned PUT of another absent key carrying an
// unsigned x-amz-copy-source of a third: a strict server refuses it, a lenient one tries the copy and answers
// NoSuchKey. Then a form whose policy allows no bytes at all, sent with one byte and a field the policy does not
// name: a server that holds forms to their policy refuses the field; one that does not, refuses the size (or, if it
// checks neither, stores a byte under a random key, which is removed). Results are kept per bucket URL.
import { toHex } from "../crypto/encoding.ts";
import { describeError } from "../errors.ts";
import { fetchOutbound } from "./client.ts";
import { postPolicy } from "./post-policy.ts";
import { type S3Client, SMALL_ANSWER } from "./s3.ts";
import { type Endpoint, encodeKey, objectLocation } from "./s3url.ts";
import type { Credentials, HeaderSigner, Presigner } from "./signer.ts";
import { errorText, leaf } from "./xml.ts";

export type HeaderHandling = "refused" | "honoured" | "unknown";

export type FormHandling = "enforced" | "ignored" | "unknown";

export interface BucketFacts {
  /** What the server does with unsigned x-amz-* headers on presigned requests. */
  unsignedHeaders: HeaderHandling;
  /** Whether it refuses a form field that the form's POST policy does not name (as the SigV4 POST rules require). */
  formFields: FormHandling;
  /** Whether the bucket has S3 Object Lock enabled; undefined when that could not be read. */
  objectLock: boolean | undefined;
  /** What was seen, in words, for messages and $verify: each check's own. */
  seen: { headers: string; form: string; lock: string };
}

const PROBE_TIMEOUT_MS = 5000;
const KNOWN_MS = 60 * 60_000; // a server does not change its mind often
const UNKNOWN_MS = 60_000; // a failed probe is tried again soon
const MAX_CACHED = 10_000;

export type CheckedAccount = Endpoint & { id: string };

export function backendChecks(deps: { s3: S3Client; presigner: Presigner & HeaderSigner; fetch?: typeof fetch; now: () => number }) {
  const known = new Map<string, { facts: BucketFacts; until: number }>();
  const scopes = new Map<string, { result: { holds: boolean | undefined; detail: string }; until: number }>();
  const inflight = new Map<string, Promise<BucketFacts>>();
  const randomKey = () => `signpost-probe/${toHex(crypto.getRandomValues(new Uint8Array(16)))}`;

  async function unsignedHeaders(account: CheckedAccount, credentials: Credentials, bucket: string): Promise<{ handling: HeaderHandling; detail: string }> {
    const presigned = async (method: string, key: string) => {
      const { protocol, host, path } = objectLocation(account, bucket, key);
      return deps.presigner.presign({ method, protocol, host, path, region: account.region, credentials, expiresIn: 60, date: new Date(deps.now()) });
    };
    const send = async (method: string, key: string, headers: Record<string, string> = {}) => {
      try {
        return await fetchOutbound(deps.fetch ?? fetch, await presigned(method, key), { method, headers, timeoutMs: PROBE_TIMEOUT_MS, maxBytes: SMALL_ANSWER });
      } catch (error) {
        return describeError(error);
      }
    };
    const said = (answer: { status: number; text: string }) => `HTTP ${answer.status}${errorText(answer.text).code ? ` ${errorText(answer.text).code}` : ""}`;
    const control = await send("GET", randomKey());
    if (typeof control === "string") return { handling: "unknown", detail: `S3 could not be reached (${control})` };
    // 404, or 403 AccessDenied where the credentials may not list the bucket (AWS): the signature itself was good.
    const controlCode = errorText(control.text).code;
    if (!(control.status === 404 && controlCode === "NoSuchKey") && !(control.status === 403 && controlCode === "AccessDenied")) {
      return { handling: "unknown", detail: `a presigned GET of an absent key answered ${said(control)}, not 404 NoSuchKey (wrong keys, clock or bucket?)` };
    }
    const target = randomKey();
    const test = await send("PUT", target, { "x-amz-copy-source": `/${bucket}/${encodeKey(randomKey())}` });
    if (typeof test === "string") return { handling: "unknown", detail: `S3 could not be reached (${test})` };
    const { code } = errorText(test.text);
    if (test.status === 404 && code === "NoSuchKey") return { handling: "honoured", detail: "an unsigned x-amz-copy-source on a presigned PUT was acted on (it looked for the source: NoSuchKey)" };
    if (test.status >= 200 && test.status < 300) {
      // It ignored the header and stored an empty object: honoured or not, it did not check it. Take the object away.
      await deps.s3.send({ account, credentials, what: "DeleteObject", method: "DELETE", bucket, key: target, query: {} }).catch(() => {});
      return { handling: "honoured", detail: "a presigned PUT with an unsigned x-amz-copy-source was accepted" };
    }
    // AWS and versitygw: AccessDenied with a <HeadersNotSigned> element; Garage: 400 "... should be signed";
    // SeaweedFS: SignatureDoesNotMatch, which after the control's success can only be the extra header.
    const message = leaf(test.text, "Message") ?? "";
    if ((test.status === 400 || test.status === 403) && (leaf(test.text, "HeadersNotSigned") !== undefined || /should be signed|not signed/i.test(message) || code === "SignatureDoesNotMatch")) {
      return { handling: "refused", detail: `a presigned PUT with an unsigned x-amz-copy-source was refused (${said(test)})` };
    }
    return { handling: "unknown", detail: `a presigned PUT with an unsigned x-amz-copy-source answered ${said(test)}` };
  }

  async function formFields(account: CheckedAccount, credentials: Credentials, bucket: string): Promise<{ handling: FormHandling; detail: string }> {
    const key = randomKey();
    const { url, fields } = await postPolicy(deps.presigner, { account, bucket, key, size: { min: 0, max: 0 }, credentials, date: new Date(deps.now()), expiresIn: 60 });
    const form = new FormData();
    for (const [name, value] of Object.entries({ ...fields, "x-amz-meta-signpost-probe": "1" })) form.append(name, value);
    form.append("file", new Blob(["x"]), "probe");
    let answer;
    try {
      answer = await fetchOutbound(deps.fetch ?? fetch, url, { method: "POST", body: form, timeoutMs: PROBE_TIMEOUT_MS, maxBytes: SMALL_ANSWER });
    } catch (error) {
      return { handling: "unknown", detail: `a form could not be sent (${describeError(error)})` };
    }
    const { code, text } = errorText(answer.text);
    // RGW: "Policy missing condition: x-amz-meta-…"; AWS: "Invalid according to Policy: Extra input fields: …".
    if (answer.status === 403 && /condition|extra input field/i.test(text)) return { handling: "enforced", detail: "a form field its policy does not name was refused" };
    if (answer.status >= 200 && answer.status < 300) {
      await deps.s3.send({ account, credentials, what: "DeleteObject", method: "DELETE", bucket, key, query: {} }).catch(() => {});
      return { handling: "ignored", detail: "a form with a field and a size its policy does not allow was stored" };
    }
    if (code === "EntityTooLarge") return { handling: "ignored", detail: "a form field its policy does not name was let through (the size was refused)" };
    return { handling: "unknown", detail: `a form with a field its policy does not name answered HTTP ${answer.status}${code ? ` ${code}` : ""}` };
  }

  async function objectLock(account: CheckedAccount, credentials: Credentials, bucket: string): Promise<{ enabled: boolean | undefined; detail: string }> {
    try {
      const { status, text } = await deps.s3.send({ account, credentials, what: "GetObjectLockConfiguration", method: "GET", bucket, key: "", query: { "object-lock": "" } });
      if (status === 200) return leaf(text, "ObjectLockEnabled") === "Enabled" ? { enabled: true, detail: "Object Lock is enabled" } : { enabled: false, detail: "Object Lock is off" };
      const { code } = errorText(text);
      if (code === "ObjectLockConfigurationNotFoundError" || status === 501 || code === "NotImplemented") return { enabled: false, detail: "Object Lock is off" };
      return { enabled: undefined, detail: `Object Lock could not be read (HTTP ${status}${code ? ` ${code}` : ""})` };
    } catch (error) {
      return { enabled: undefined, detail: `Object Lock could not be read (${error instanceof Error ? error.message : describeError(error)})` };
    }
  }

  /** Probes now, without the cache; the answer replaces what was kept. */
  async function probe(account: CheckedAccount, credentials: Credentials, bucket: string): Promise<BucketFacts> {
    const headers = await unsignedHeaders(account, credentials, bucket);
    const form = await formFields(account, credentials, bucket);
    // The lock matters only where unsigned headers are honoured: nothing else lets an upload URL set a retention.
    const lock = headers.handling === "refused" ? { enabled: undefined, detail: "" } : await objectLock(account, credentials, bucket);
    const facts: BucketFacts = {
      unsignedHeaders: headers.handling, formFields: form.handling, objectLock: lock.enabled,
      seen: { headers: headers.detail, form: form.detail, lock: lock.detail },
    };
    if (known.size >= MAX_CACHED) known.clear();
    const unsure = headers.handling === "unknown" || form.handling === "unknown";
    known.set(keyOf(account, credentials, bucket), { facts, until: deps.now() + (unsure ? UNKNOWN_MS : KNOWN_MS) });
    return facts;
  }

  // Per account and credentials too: with RGW tenants one URL reaches different buckets for different keys, and one
  // account's failed probe (wrong keys, say) must not decide for another's clients.
  const keyOf = (account: CheckedAccount, credentials: Credentials, bucket: string) => {
    const { protocol, host, path } = objectLocation(account, bucket, "");
    return `${account.id}\n${credentials.accessKeyId}\n${protocol}//${host}${path}`;
  };

  /**
   * Does this server hold session credentials to their session policy? A PUT outside the prefix the policy allows,
   * signed with such credentials, must be refused (RGW answers a GET of an absent key with 404 whatever the policy,
   * so a read cannot tell). Where it is not refused, the empty object it made is removed.
   */
  async function sessionPolicyHolds(account: CheckedAccount, credentials: Credentials, bucket: string, scoped: () => Promise<Credentials>, fresh = false): Promise<{ holds: boolean | undefined; detail: string }> {
    const key = keyOf(account, credentials, bucket);
    const hit = scopes.get(key);
    if (hit && hit.until > deps.now() && !fresh) return hit.result;
    let result: { holds: boolean | undefined; detail: string };
    try {
      const outside = `signpost-probe-outside/${randomKey().slice("signpost-probe/".length)}`;
      const { protocol, host, path } = objectLocation(account, bucket, outside);
      const url = await deps.presigner.presign({ method: "PUT", protocol, host, path, region: account.region, credentials: await scoped(), expiresIn: 60, date: new Date(deps.now()) });
      const answer = await fetchOutbound(deps.fetch ?? fetch, url, { method: "PUT", timeoutMs: PROBE_TIMEOUT_MS, maxBytes: SMALL_ANSWER });
      if (answer.status === 403) result = { holds: true, detail: "a write outside a session policy's prefix was refused" };
      else if (answer.status >= 200 && answer.status < 300) {
        await deps.s3.send({ account, credentials, what: "DeleteObject", method: "DELETE", bucket, key: outside, query: {} }).catch(() => {});
        result = { holds: false, detail: "a write outside a session policy's prefix was let through: this server does not enforce session policies" };
      } else result = { holds: undefined, detail: `a write outside a session policy's prefix answered HTTP ${answer.status}${errorText(answer.text).code ? ` ${errorText(answer.text).code}` : ""}` };
    } catch (error) {
      result = { holds: undefined, detail: `session credentials could not be tried (${error instanceof Error ? error.message : describeError(error)})` };
    }
    if (scopes.size >= MAX_CACHED) scopes.clear();
    scopes.set(key, { result, until: deps.now() + (result.holds === undefined ? UNKNOWN_MS : KNOWN_MS) });
    return result;
  }

  /** The facts for a bucket, probed at most once an hour (once a minute while unknown); concurrent callers share one probe. */
  async function facts(account: CheckedAccount, credentials: Credentials, bucket: string): Promise<BucketFacts> {
    const key = keyOf(account, credentials, bucket);
    const hit = known.get(key);
    if (hit && hit.until > deps.now()) return hit.facts;
    let running = inflight.get(key);
    if (!running) {
      running = probe(account, credentials, bucket).finally(() => inflight.delete(key));
      inflight.set(key, running);
    }
    return running;
  }

  return { facts, probe, sessionPolicyHolds };
}

export type BackendChecks = ReturnType<typeof backendChecks>;
