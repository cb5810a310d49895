// The permissions `deno task start` gives the server: computed from the data folder it will use (so that any
// SIGNPOST_DATA_DIR works) and the home directory, never more. Pure: test/unit/deno-permissions.test.ts checks it.

/**
 * Every variable the credential chain reads. `deno task start` grants --allow-env for exactly these (with the
 * server's own); test/unit/deno-permissions.test.ts keeps this list equal to what the chain reads.
 */
export const CREDENTIAL_ENV_NAMES = [
  "HOME", "USERPROFILE",
  "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
  "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
  "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
  "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
  "AWS_REGION", "AWS_DEFAULT_REGION",
] as const;

/** The server's own variables; with CREDENTIAL_ENV_NAMES, every variable Deno may read (--allow-env). */
export const SERVER_ENV_NAMES = [
  "PORT", "HOST", "SIGNPOST_DATA_DIR", "SIGNPOST_ADMIN_TOKEN", "SIGNPOST_ENCRYPTION_KEY", "SIGNPOST_CORS_ORIGINS",
  "SIGNPOST_ACCOUNT_CACHE_MS", "DENO_DEPLOYMENT_ID",
] as const;

export const DEFAULT_DATA_DIR = ".signpost";

/** The token files EKS mounts for IRSA and Pod Identity. */
const EKS_TOKEN_FOLDERS = ["/var/run/secrets/eks.amazonaws.com", "/var/run/secrets/pods.eks.amazonaws.com"];

/**
 * `deno run` flags for src/runtime/deno.ts: the network, exactly the variables it reads, its data folder (read and
 * write), ~/.aws and the EKS token folders (read); no prompt, no processes. `extra` are the user's own additions.
 */
export function serverFlags(env: { SIGNPOST_DATA_DIR?: string; HOME?: string }, extra: readonly string[] = []): string[] {
  const dataDir = env.SIGNPOST_DATA_DIR || DEFAULT_DATA_DIR;
  const read = [dataDir, ...(env.HOME ? [`${env.HOME}/.aws`] : []), ...EKS_TOKEN_FOLDERS];
  return [
    "--no-prompt",
    "--allow-net",
    `--allow-env=${[...SERVER_ENV_NAMES, ...CREDENTIAL_ENV_NAMES].join(",")}`,
    `--allow-read=${read.join(",")}`,
    `--allow-write=${dataDir}`,
    ...extra,
  ];
}
