// Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN / AWS_CREDENTIAL_EXPIRATION.
// The variables come in as a plain object: process.env on Node, Deno.env on Deno, bindings on Workers.
import type { CredentialProvider, CredentialSource } from "./provider.ts";
import { credentialsUnavailable, parseTimestamp } from "./provider.ts";

/**
 * The environment as a chain link. As in the AWS SDK's default chain, it steps aside when AWS_PROFILE is set
 * (`respectProfile`), so that the named profile wins over stray keys.
 */
export function envSource(env: Readonly<Record<string, string | undefined>>, options: { respectProfile?: boolean } = {}): CredentialSource {
  return {
    name: "environment",
    async resolve() {
      if (options.respectProfile && env.AWS_PROFILE) return { skipped: "skipped because AWS_PROFILE is set" };
      const accessKeyId = env.AWS_ACCESS_KEY_ID;
      const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
      if (!accessKeyId || !secretAccessKey) return { skipped: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set" };
      const expiration = env.AWS_CREDENTIAL_EXPIRATION ? parseTimestamp(env.AWS_CREDENTIAL_EXPIRATION) : undefined;
      if (env.AWS_CREDENTIAL_EXPIRATION && !expiration) return { failed: "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 date" };
      return {
        credentials: {
          accessKeyId,
          secretAccessKey,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          ...(expiration ? { expiration } : {}),
        },
      };
    },
  };
}

/** The environment alone, as a provider (no memoisation: reading a few variables is cheap). */
export function fromEnv(env: Record<string, string | undefined>): CredentialProvider {
  const source = envSource(env);
  return async () => {
    const result = await source.resolve();
    if ("credentials" in result) return result.credentials;
    throw credentialsUnavailable([`environment: ${"skipped" in result ? result.skipped : result.failed}`]);
  };
}
