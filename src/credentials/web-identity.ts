// Web identity (EKS IRSA and any OIDC issuer): AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME),
// exchanged with STS AssumeRoleWithWebIdentity (https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html).
import type { CredentialSource, HostIO, SourceResult } from "./provider.ts";
import { describeError } from "../errors.ts";
import { callSts, stsEndpoint } from "../aws/sts.ts";

export interface WebIdentity {
  roleArn: string;
  /** Read at each call (the kubelet rotates the projected token file). */
  token: () => Promise<string>;
  /** Where the token comes from, for messages: a file name, never the token. */
  tokenSource: string;
  roleSessionName?: string;
  durationSeconds?: number;
  region?: string;
}

/** AssumeRoleWithWebIdentity with a freshly read token. */
export async function webIdentityCredentials(io: HostIO, identity: WebIdentity): Promise<SourceResult> {
  let token: string;
  try {
    token = (await identity.token()).trim();
  } catch (error) {
    return { failed: `cannot read the token ${identity.tokenSource} (${describeError(error)})` };
  }
  if (!token) return { failed: `the token ${identity.tokenSource} is empty` };
  const endpoint = stsEndpoint(io.env, identity.region ?? (io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION));
  if (typeof endpoint === "string") return { failed: endpoint };
  const result = await callSts(io, {
    endpoint,
    action: "AssumeRoleWithWebIdentity",
    params: {
      RoleArn: identity.roleArn,
      RoleSessionName: identity.roleSessionName || `signpost-${(io.now ?? Date.now)()}`,
      WebIdentityToken: token,
      DurationSeconds: identity.durationSeconds === undefined ? undefined : String(identity.durationSeconds),
    },
  });
  return typeof result === "string" ? { failed: result } : { credentials: result };
}

/**
 * The chain link. `token` replaces the file where a runtime has none (a Worker hands in a token from the binding
 * `tokenName`, which messages then name); otherwise AWS_WEB_IDENTITY_TOKEN_FILE is read with the runtime's readFile.
 */
export function webIdentitySource(io: HostIO, options: { token?: () => Promise<string>; tokenName?: string } = {}): CredentialSource {
  const tokenName = options.tokenName ?? "AWS_WEB_IDENTITY_TOKEN_FILE";
  return {
    name: "web identity",
    async resolve() {
      const { AWS_WEB_IDENTITY_TOKEN_FILE: file, AWS_ROLE_ARN: roleArn, AWS_ROLE_SESSION_NAME: roleSessionName } = io.env;
      const readFile = io.readFile;
      let token = options.token;
      if (!token && file && readFile) token = () => readFile(file);
      if (!roleArn || (!file && !options.token)) {
        return { skipped: `${tokenName} and AWS_ROLE_ARN are not both set` };
      }
      if (!token) return { failed: "this runtime cannot read AWS_WEB_IDENTITY_TOKEN_FILE" };
      return webIdentityCredentials(io, {
        roleArn,
        token,
        tokenSource: file ? `file ${file}` : options.tokenName ?? "from the runtime",
        ...(roleSessionName ? { roleSessionName } : {}),
      });
    },
  };
}
