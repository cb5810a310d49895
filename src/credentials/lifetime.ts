// A presigned URL dies with the credentials that signed it: never promise a longer life than they have.
import { HttpError } from "../errors.ts";
import type { Credentials } from "../signer.ts";

export interface UrlLifetime {
  /** X-Amz-Expires: the requested seconds, or fewer when the credentials expire sooner. */
  expiresIn: number;
  /** When the URL stops working, to the second (X-Amz-Date has no milliseconds). */
  expiresAt: Date;
  /** True when the credentials' expiry cut the requested lifetime. */
  capped: boolean;
}

export function urlLifetime(requested: number, credentials: Credentials, signingDate: Date): UrlLifetime {
  const start = Math.floor(signingDate.getTime() / 1000); // the URL's clock starts at X-Amz-Date
  let expiresIn = requested;
  let capped = false;
  if (credentials.expiration) {
    const left = Math.floor(credentials.expiration.getTime() / 1000) - start;
    if (left < 1) throw new HttpError(503, `the AWS credentials expired at ${credentials.expiration.toISOString()}`);
    if (left < requested) {
      expiresIn = left;
      capped = true;
    }
  }
  return { expiresIn, expiresAt: new Date((start + expiresIn) * 1000), capped };
}
