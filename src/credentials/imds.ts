// EC2 instance profile credentials through IMDSv2
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-security-credentials.html).
// IMDSv2 only: a session token first (PUT), then the role name, then its credentials. signpost does not fall back
// to IMDSv1; in a container on EC2 set the instance's metadata hop limit to 2 so the PUT's answer reaches it.
import type { CredentialSource, HostIO, SourceResult } from "./provider.ts";
import { credentialsFromJson, fetchText } from "./provider.ts";
import { describeError } from "../errors.ts";

const CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/";
const ROLE_NAME = /^[\w+=,.@-]{1,128}$/;

export interface ImdsOptions {
  /** Per request, as the SDK: 1000 ms. */
  timeoutMs?: number;
}

/** AWS_EC2_METADATA_SERVICE_ENDPOINT, else by AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE (IPv4 default, or IPv6). */
export function imdsEndpoint(env: HostIO["env"]): URL | string {
  const configured = env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
  if (configured) {
    try {
      const url = new URL(configured);
      if (url.protocol === "http:" || url.protocol === "https:") return new URL(url.origin);
    } catch {
      /* reported below */
    }
    return "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http(s) URL";
  }
  const mode = (env.AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE || "IPv4").toLowerCase();
  if (mode === "ipv4") return new URL("http://169.254.169.254");
  if (mode === "ipv6") return new URL("http://[fd00:ec2::254]");
  return "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be IPv4 or IPv6";
}

export function imdsSource(io: HostIO, options: ImdsOptions = {}): CredentialSource {
  const timeoutMs = options.timeoutMs ?? 1000;
  return {
    name: "EC2 instance metadata",
    async resolve(): Promise<SourceResult> {
      const disabled = io.env.AWS_EC2_METADATA_DISABLED;
      if (disabled && disabled.toLowerCase() !== "false") return { skipped: "disabled by AWS_EC2_METADATA_DISABLED" };
      if (io.metadataEndpoints === false) return { skipped: "this runtime cannot reach the instance metadata service" };
      const base = imdsEndpoint(io.env);
      if (typeof base === "string") return { failed: base };
      const origin = base.origin;
      let step = "token";
      try {
        const token = await fetchText(io, `${origin}/latest/api/token`, {
          method: "PUT",
          headers: { "x-aws-ec2-metadata-token-ttl-seconds": "21600" },
          timeoutMs,
        });
        if (token.status !== 200 || !token.text.trim() || /[\r\n]/.test(token.text.trim())) {
          return { failed: `${origin}: PUT /latest/api/token answered HTTP ${token.status}` };
        }
        const headers = { "x-aws-ec2-metadata-token": token.text.trim() };
        step = "role name";
        const roles = await fetchText(io, `${origin}${CREDENTIALS_PATH}`, { headers, timeoutMs });
        if (roles.status === 404) return { failed: `${origin}: this instance has no IAM instance profile (HTTP 404)` };
        if (roles.status !== 200) return { failed: `${origin}: GET ${CREDENTIALS_PATH} answered HTTP ${roles.status}` };
        const role = roles.text.split("\n")[0]!.trim();
        if (!ROLE_NAME.test(role)) return { failed: `${origin}: the role name it gave is not a valid IAM role name` };
        step = "credentials";
        const answer = await fetchText(io, `${origin}${CREDENTIALS_PATH}${role}`, { headers, timeoutMs });
        if (answer.status !== 200) return { failed: `${origin}: GET ${CREDENTIALS_PATH}${role} answered HTTP ${answer.status}` };
        const code = (() => {
          try {
            return (JSON.parse(answer.text) as { Code?: unknown } | null)?.Code;
          } catch {
            return undefined;
          }
        })();
        if (code !== undefined && code !== "Success") {
          return { failed: `${origin}: credentials for role ${role} not ready (Code ${String(code).replace(/[^\w.-]/g, "").slice(0, 64)})` };
        }
        const credentials = credentialsFromJson(answer.text, "Token", { token: true, expiration: true });
        return typeof credentials === "string" ? { failed: `${origin}: ${credentials}` } : { credentials };
      } catch (error) {
        const detail = describeError(error);
        return { failed: `${origin}: ${step}: ${detail === "timed out" ? `no answer within ${timeoutMs} ms` : detail}` };
      }
    },
  };
}
