// Container credentials: ECS/Fargate task roles, EKS Pod Identity, App Runner
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html).
import type { CredentialSource, HostIO, SourceResult } from "./provider.ts";
import { credentialsFromJson, fetchText } from "./provider.ts";
import { describeError } from "../errors.ts";
import { sleep } from "../aws/client.ts";

const ECS_HOST = "http://169.254.170.2";

export interface ContainerOptions {
  /** Per attempt, as the SDK: 1000 ms. */
  timeoutMs?: number;
  /** Retries after the first attempt, as the SDK: 3. */
  retries?: number;
  /** Pause between attempts, as the SDK: 1000 ms. */
  retryDelayMs?: number;
}

/**
 * FULL_URI must be https, or http to a host that cannot be reached off the machine or the task: the ECS and EKS
 * agents' link-local addresses or loopback. Anything else could send the authorization token elsewhere.
 */
export function allowedContainerUrl(url: URL): boolean {
  if (url.protocol === "https:") return true;
  if (url.protocol !== "http:") return false;
  const host = url.hostname; // lower case; IPv6 in brackets, normalised by URL
  if (["169.254.170.2", "169.254.170.23", "[fd00:ec2::23]", "[::1]", "localhost"].includes(host)) return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host); // URL has already normalised IPv4 forms
}

function endpoint(env: HostIO["env"]): URL | string | undefined {
  const relative = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
  const full = env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  if (relative) {
    try {
      return new URL(`${ECS_HOST}${relative.startsWith("/") ? "" : "/"}${relative}`);
    } catch {
      return "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a URL path";
    }
  }
  if (!full) return undefined;
  let url: URL;
  try {
    url = new URL(full);
  } catch {
    return "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL";
  }
  if (!allowedContainerUrl(url)) {
    return `AWS_CONTAINER_CREDENTIALS_FULL_URI host ${url.host} is not allowed: it must be https, or http to 169.254.170.2, 169.254.170.23, [fd00:ec2::23], 127.0.0.0/8, [::1] or localhost`;
  }
  return url;
}

/** AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read each time: EKS rotates it) wins over AWS_CONTAINER_AUTHORIZATION_TOKEN. */
async function authorization(io: HostIO): Promise<string | undefined | { failed: string }> {
  const file = io.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
  let token = io.env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  if (file) {
    if (!io.readFile) return { failed: "this runtime cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" };
    try {
      token = await io.readFile(file);
    } catch (error) {
      return { failed: `cannot read the authorization token file ${file} (${describeError(error)})` };
    }
    token = token.trim();
    if (!token) return { failed: `the authorization token file ${file} is empty` };
  }
  if (token !== undefined && /[\r\n]/.test(token)) return { failed: "the authorization token contains a line break" };
  return token || undefined;
}

export function containerSource(io: HostIO, options: ContainerOptions = {}): CredentialSource {
  const timeoutMs = options.timeoutMs ?? 1000;
  const retries = options.retries ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  return {
    name: "container",
    async resolve(): Promise<SourceResult> {
      const url = endpoint(io.env);
      if (url === undefined) return { skipped: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set" };
      if (typeof url === "string") return { failed: url };
      if (io.metadataEndpoints === false) return { failed: "this runtime cannot reach the container credentials endpoint" };
      const where = `${url.origin}${url.pathname}`; // the query may carry something private
      let reason = "";
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) await sleep(retryDelayMs);
        const token = await authorization(io);
        if (typeof token === "object") return token;
        try {
          const answer = await fetchText(io, url.href, { headers: token ? { authorization: token } : {}, timeoutMs });
          if (answer.status !== 200) {
            let code = "";
            try {
              const body = JSON.parse(answer.text) as { Code?: unknown };
              if (typeof body?.Code === "string") code = ` ${body.Code.replace(/[^\w.-]/g, "").slice(0, 64)}`;
            } catch {
              /* not JSON: the status says enough */
            }
            reason = `${where} answered HTTP ${answer.status}${code}`;
            continue;
          }
          const credentials = credentialsFromJson(answer.text, "Token", { token: true, expiration: true });
          if (typeof credentials !== "string") return { credentials };
          reason = `${where}: ${credentials}`;
        } catch (error) {
          const detail = describeError(error);
          reason = `${where}: ${detail === "timed out" ? `no answer within ${timeoutMs} ms` : detail}`;
        }
      }
      return { failed: `${reason}${retries > 0 ? ` (${retries + 1} attempts)` : ""}` };
    },
  };
}
