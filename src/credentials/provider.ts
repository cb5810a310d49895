// The credential seam: what a provider is, what a source reports, and what the host runtime lends them.
// Core code: no node:*, Deno.* or process here; the runtime entry passes a HostIO in.
import { HttpError } from "../errors.ts";
import { fetchOutbound } from "../aws/client.ts";
import type { Credentials } from "../aws/signer.ts";

/** Resolves credentials for accounts without their own keys (the AWS default chain's seam). */
export type CredentialProvider = () => Promise<Credentials>;

/** Names the sources tried and why each failed; never includes a secret. */
export function credentialsUnavailable(reasons: string[]): HttpError {
  return new HttpError(503, `no AWS credentials available for an account without access-key-id: ${reasons.join("; ")}`);
}

export type Log = (entry: Record<string, string | number | boolean | undefined>) => void;

/**
 * What the runtime lends the credential sources. Everything but `env` is optional: a source that needs a missing
 * part says so and the chain goes on (Workers have no files, no processes and no metadata endpoints).
 */
export interface HostIO {
  /** Environment variables: process.env on Node, Deno.env.toObject() on Deno, bindings on Workers. */
  env: Readonly<Record<string, string | undefined>>;
  /** The user's home directory, for ~/.aws/credentials and ~/.aws/config. */
  homeDir?: string;
  /** Reads a whole UTF-8 file. Rejects with an error whose `code` (ENOENT, EACCES, ...) says why. */
  readFile?: (path: string) => Promise<string>;
  /** Runs a shell command line (credential_process) and resolves with its stdout; rejects on a non-zero exit. */
  runCommand?: (command: string, options: { timeoutMs: number }) => Promise<string>;
  /** Whether the link-local metadata endpoints (ECS/EKS container, EC2 IMDS) can exist here; default true. */
  metadataEndpoints?: boolean;
  /** HTTP client; default the global fetch. */
  fetch?: typeof fetch;
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
}

/** What one source of the chain found. */
export type SourceResult =
  /** Credentials; the chain checks they have not expired. */
  | { credentials: Credentials }
  /** Not configured here (e.g. its variables are not set): the chain goes on to the next source. */
  | { skipped: string }
  /** Configured but broken: the chain stops here, as the AWS SDK's does, rather than fall through to another identity. */
  | { failed: string };

export interface CredentialSource {
  /** Short name used in messages: "environment", "shared files", ... */
  name: string;
  resolve(): Promise<SourceResult>;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 timestamp (as STS, ECS and IMDS give it, up to nanoseconds), or undefined when it is not one. */
export function parseTimestamp(value: unknown): Date | undefined {
  if (typeof value !== "string") return undefined;
  const match = RFC3339.exec(value.trim());
  if (!match) return undefined;
  const [, dateTime, fraction = "", zone] = match;
  const date = new Date(`${dateTime!.replace(/[t ]/, "T")}${fraction.slice(0, 4)}${zone!.toUpperCase()}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Credentials from the JSON the container endpoint, the EC2 metadata service and credential_process answer:
 * AccessKeyId, SecretAccessKey, Token (SessionToken for credential_process) and Expiration.
 * Returns a reason string when the document is not usable.
 */
export function credentialsFromJson(
  text: string,
  tokenField: "Token" | "SessionToken",
  required: { token: boolean; expiration: boolean },
): Credentials | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return "the answer is not valid JSON";
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return "the answer is not a JSON object";
  const record = data as Record<string, unknown>;
  const { AccessKeyId: accessKeyId, SecretAccessKey: secretAccessKey, Expiration: expirationText } = record;
  const token = record[tokenField];
  if (typeof accessKeyId !== "string" || !accessKeyId || typeof secretAccessKey !== "string" || !secretAccessKey) {
    return "the answer lacks AccessKeyId or SecretAccessKey";
  }
  if (token !== undefined && typeof token !== "string") return `${tokenField} is not a string`;
  if (required.token && !token) return `the answer lacks ${tokenField}`;
  if (expirationText === undefined && required.expiration) return "the answer lacks Expiration";
  const expiration = expirationText === undefined ? undefined : parseTimestamp(expirationText);
  if (expirationText !== undefined && !expiration) return "Expiration is not an RFC 3339 timestamp";
  return { accessKeyId, secretAccessKey, ...(token ? { sessionToken: token } : {}), ...(expiration ? { expiration } : {}) };
}

const MAX_ANSWER_BYTES = 256 * 1024;

/**
 * One HTTP exchange with a deadline for all of it (connect, headers and body); redirects are not followed (the 3xx
 * comes back as the status, which no caller takes for success); bodies over 256 KiB are cut off and refused.
 */
export async function fetchText(
  io: HostIO,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs: number },
): Promise<{ status: number; text: string }> {
  return fetchOutbound(io.fetch ?? fetch, url, { ...init, maxBytes: MAX_ANSWER_BYTES });
}
