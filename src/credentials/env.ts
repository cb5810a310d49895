// Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN / AWS_CREDENTIAL_EXPIRATION.
// The variables come in as a plain object: process.env on Node, Deno.env on Deno, bindings on Workers.
import type { CredentialProvider } from "./provider.ts";
import { credentialsUnavailable } from "./provider.ts";

export function fromEnv(env: Record<string, string | undefined>): CredentialProvider {
  return async () => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw credentialsUnavailable(["environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set"]);
    }
    const expiration = env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined;
    if (expiration && Number.isNaN(expiration.getTime())) {
      throw credentialsUnavailable(["environment: AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 date"]);
    }
    return {
      accessKeyId,
      secretAccessKey,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      ...(expiration ? { expiration } : {}),
    };
  };
}
