import { HttpError } from "../errors.ts";
import type { Credentials } from "../signer.ts";

/** Resolves credentials for accounts without their own keys (the AWS default chain's seam). */
export type CredentialProvider = () => Promise<Credentials>;

/** Names the sources tried and why each failed; never includes a secret. */
export function credentialsUnavailable(reasons: string[]): HttpError {
  return new HttpError(503, `no AWS credentials available for an account without access-key-id: ${reasons.join("; ")}`);
}
