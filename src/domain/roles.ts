// Per-account role assumption: an AwsAccount with role-arn signs with temporary credentials from STS AssumeRole,
// obtained with the account's keys or the default credentials, cached and refreshed per account like the chain's.
import type { AwsAccount } from "./account.ts";
import { HttpError } from "../errors.ts";
import type { Credentials, HeaderSigner } from "../aws/signer.ts";
import { memoize } from "../credentials/chain.ts";
import type { CredentialProvider, HostIO, Log } from "../credentials/provider.ts";
import { callSts, stsEndpoint } from "../aws/sts.ts";

export type RoleAccount = Pick<AwsAccount, "id" | "region" | "host" | "use-ssl" | "access-key-id" | "secret-access-key" | "role-arn" | "external-id" | "role-session-name" | "duration-seconds">;

/**
 * Temporary credentials for `account`'s role-arn, assumed with the credentials `source` gives; with `sessionPolicy`
 * (an inline policy, JSON), narrowed to what it allows.
 */
export type RoleCredentials = (account: RoleAccount, source: CredentialProvider, sessionPolicy?: string) => Promise<Credentials>;

// One per account, and one per account, bucket and client grant in use (session policies).
const MAX_CACHED_ROLES = 10_000;

export function createRoleCredentials(io: HostIO, options: { signer: HeaderSigner; log?: Log; now?: () => number }): RoleCredentials {
  const now = options.now ?? io.now ?? Date.now;
  // One memo per account configuration: a changed key, role or endpoint is a new entry, never stale credentials.
  const cache = new Map<string, { source: CredentialProvider; provider: CredentialProvider }>();

  return (account, source, sessionPolicy) => {
    const roleArn = account["role-arn"];
    if (!roleArn) throw new HttpError(500, "role credentials asked for an account without role-arn");
    const cacheKey = JSON.stringify([
      account.id, roleArn, account["external-id"], account["role-session-name"], account["duration-seconds"],
      account.region, account.host, account["use-ssl"], account["access-key-id"], account["secret-access-key"], sessionPolicy,
    ]);
    let entry = cache.get(cacheKey);
    if (!entry) {
      if (cache.size >= MAX_CACHED_ROLES) cache.delete(cache.keys().next().value!);
      const created: { source: CredentialProvider; provider: CredentialProvider } = {
        source,
        provider: memoize(async () => {
          const sourceCredentials = await created.source();
          const endpoint = stsEndpoint(io.env, account.region, account.host ? { host: account.host, useSsl: account["use-ssl"] } : undefined);
          const what = `cannot assume role ${roleArn} for AwsAccount/${account.id}`;
          if (typeof endpoint === "string") throw new HttpError(503, `${what}: ${endpoint}`);
          const result = await callSts(
            { ...io, now },
            {
              endpoint,
              action: "AssumeRole",
              params: {
                RoleArn: roleArn,
                RoleSessionName: account["role-session-name"] ?? `signpost-${account.id}`.slice(0, 64),
                ExternalId: account["external-id"],
                DurationSeconds: String(account["duration-seconds"] ?? 3600),
                Policy: sessionPolicy,
              },
              signWith: { signer: options.signer, credentials: sourceCredentials },
            },
          );
          if (typeof result === "string") throw new HttpError(503, `${what}: ${result}`);
          return result;
        }, { now, what: `role ${roleArn} for AwsAccount/${account.id}${sessionPolicy ? " (scoped)" : ""}`, ...(options.log ? { log: options.log } : {}) }),
      };
      cache.set(cacheKey, created);
      entry = created;
    }
    entry.source = source;
    return entry.provider();
  };
}
