// The default credential chain, in the order of @aws-sdk/credential-provider-node, and the memo in front of it.
import { HttpError } from "../errors.ts";
import type { Credentials, HeaderSigner } from "../aws/signer.ts";
import { type ContainerOptions, containerSource } from "./container.ts";
import { envSource } from "./env.ts";
import { type ImdsOptions, imdsSource } from "./imds.ts";
import type { CredentialProvider, CredentialSource, HostIO, Log } from "./provider.ts";
import { credentialsUnavailable } from "./provider.ts";
import { describeError } from "../errors.ts";
import { sharedFilesSource } from "./shared-files.ts";
import { webIdentitySource } from "./web-identity.ts";

/** Refresh temporary credentials when less than this is left (as the SDK). */
export const REFRESH_BEFORE_MS = 5 * 60_000;
/** After a failed refresh, keep serving the still-valid credentials this long before trying again. */
export const RETRY_AFTER_FAILURE_MS = 30_000;
/** Credentials with less than this left are expired for us: a URL signed with them could not live a second. */
export const MIN_REMAINING_MS = 1000;

const iso = (date: Date) => date.toISOString();

export interface ChainOptions {
  now?: () => number;
  log?: Log;
}

/**
 * Tries each source in turn. A source that is not configured steps aside; one that is configured but fails (or
 * gives expired credentials) ends the search, as in the AWS SDK, and the 503 names every source tried and why.
 */
export function chain(sources: CredentialSource[], options: ChainOptions = {}): () => Promise<Credentials> {
  const now = options.now ?? Date.now;
  return async () => {
    const reasons: string[] = [];
    for (const source of sources) {
      let result;
      try {
        result = await source.resolve();
      } catch (error) {
        result = { failed: `unexpected error (${describeError(error)})` };
      }
      if ("credentials" in result) {
        const { expiration } = result.credentials;
        if (!expiration || expiration.getTime() - now() >= MIN_REMAINING_MS) {
          options.log?.({ level: "info", message: "AWS credentials obtained", source: source.name, expires: expiration && iso(expiration) });
          return result.credentials;
        }
        reasons.push(`${source.name}: the credentials it gave expired at ${iso(expiration)}`);
        break;
      }
      reasons.push(`${source.name}: ${"skipped" in result ? result.skipped : result.failed}`);
      if ("failed" in result) break;
    }
    throw credentialsUnavailable(reasons);
  };
}

export interface MemoOptions extends ChainOptions {
  /** What these credentials are, for the log: "default credentials", "role arn:...". */
  what: string;
}

/**
 * Keeps credentials until less than 5 minutes are left, then refreshes them. Concurrent callers share one
 * in-flight fetch. When a refresh fails, callers get the old credentials as long as they are valid (the failure is
 * logged and retried after 30 s), and the error once they are not: never credentials past their expiry.
 * Credentials without an expiry are kept for good.
 */
export function memoize(fetchCredentials: () => Promise<Credentials>, options: MemoOptions): CredentialProvider {
  const now = options.now ?? Date.now;
  let current: Credentials | undefined;
  let refreshAt = 0;
  let inflight: Promise<Credentials> | undefined;
  const valid = (credentials: Credentials | undefined): credentials is Credentials =>
    credentials !== undefined && !expired(credentials);
  const expired = (credentials: Credentials) => credentials.expiration !== undefined && credentials.expiration.getTime() - now() < MIN_REMAINING_MS;

  const refresh = async (): Promise<Credentials> => {
    try {
      const fresh = await fetchCredentials();
      if (expired(fresh)) throw new HttpError(503, `${options.what}: the credentials obtained expired at ${iso(fresh.expiration!)}`);
      current = fresh;
      refreshAt = fresh.expiration ? Math.max(fresh.expiration.getTime() - REFRESH_BEFORE_MS, now() + RETRY_AFTER_FAILURE_MS) : Infinity;
      return fresh;
    } catch (error) {
      const held: Credentials | undefined = current;
      if (valid(held)) {
        refreshAt = now() + RETRY_AFTER_FAILURE_MS;
        options.log?.({
          level: "warn",
          message: "credential refresh failed; using the current credentials until they expire",
          credentials: options.what,
          expires: held.expiration && iso(held.expiration),
          error: error instanceof Error ? error.message : describeError(error),
        });
      }
      throw error;
    } finally {
      inflight = undefined;
    }
  };

  return async () => {
    if (!valid(current)) current = undefined;
    if (current && now() < refreshAt) return current;
    inflight ??= refresh();
    try {
      return await inflight;
    } catch (error) {
      if (valid(current)) return current;
      throw error;
    }
  };
}

export interface DefaultChainOptions extends ChainOptions {
  /** Signs STS AssumeRole for profiles with role_arn. */
  signer: HeaderSigner;
  container?: ContainerOptions;
  imds?: ImdsOptions;
  /** A web identity token from elsewhere than AWS_WEB_IDENTITY_TOKEN_FILE (e.g. a Worker binding). */
  webIdentityToken?: () => Promise<string>;
}

/**
 * environment (skipped when AWS_PROFILE is set) → shared files (static keys, role_arn, web identity,
 * credential_process) → web identity (IRSA) → container (ECS, EKS Pod Identity, App Runner) → EC2 IMDSv2.
 * Sources the runtime cannot serve (no files, no metadata endpoints) step aside and say so.
 */
export function defaultChain(io: HostIO, options: DefaultChainOptions): CredentialProvider {
  const now = options.now ?? io.now ?? Date.now;
  const sources = [
    envSource(io.env, { respectProfile: true }),
    sharedFilesSource(io, { signer: options.signer }),
    webIdentitySource(io, options.webIdentityToken ? { token: options.webIdentityToken } : {}),
    containerSource(io, options.container),
    imdsSource(io, options.imds),
  ];
  const log = options.log;
  return memoize(chain(sources, { now, ...(log ? { log } : {}) }), { now, what: "default credentials", ...(log ? { log } : {}) });
}

/**
 * The part of the chain an edge runtime (a Worker) can reach: the environment (its bindings), then web identity
 * with a token it holds (`token`, named `tokenName` in messages). No files, processes or metadata endpoints.
 */
export function edgeChain(io: HostIO, options: ChainOptions & { token?: string; tokenName: string }): CredentialProvider {
  const { token } = options;
  const sources = [envSource(io.env), webIdentitySource(io, { tokenName: options.tokenName, ...(token ? { token: async () => token } : {}) })];
  const log = options.log;
  const now = options.now ?? io.now ?? Date.now;
  return memoize(chain(sources, { now, ...(log ? { log } : {}) }), { now, what: "default credentials", ...(log ? { log } : {}) });
}
