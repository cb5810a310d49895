/// <reference lib="deno.ns" />
// What the credential sources borrow from Deno: environment (read by name), home directory, files and
// credential_process. Each is subject to Deno's permissions: a read or run they deny fails with a reason naming
// the flag to add, and the chain reports it (503), never a crash.
import type { HostIO } from "../credentials/provider.ts";

/**
 * Every variable the credential chain reads. `deno task start` grants --allow-env for exactly these (with the
 * server's own): see deno.json; test/unit/deno-permissions.test.ts keeps the three lists in step.
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

/** Deno permission errors: NotCapable (Deno 2), PermissionDenied (Deno 1). */
const denied = (error: unknown) => error instanceof Error && (error.name === "NotCapable" || error.name === "PermissionDenied");

/** An Error whose `code` is what describeError and the shared-files loader report. */
function coded(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/** Reads the variables by name; those the permissions deny read as unset and are returned in `denied`. */
export function readEnv(names: readonly string[]): { env: Record<string, string | undefined>; denied: string[] } {
  const env: Record<string, string | undefined> = {};
  const refused: string[] = [];
  for (const name of names) {
    try {
      env[name] = Deno.env.get(name) || undefined;
    } catch (error) {
      if (!denied(error)) throw error;
      refused.push(name);
    }
  }
  return { env, denied: refused };
}

const OS_CODES: Record<string, string> = { NotFound: "ENOENT", NotADirectory: "ENOTDIR", IsADirectory: "EISDIR", PermissionDenied: "EACCES" };

async function readFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Error && error.name === "NotCapable") throw coded(`not permitted by Deno: run with --allow-read=${path} or its folder`);
    const code = error instanceof Error ? OS_CODES[error.name] : undefined;
    throw code ? coded(code) : error;
  }
}

const MAX_OUTPUT = 1024 * 1024;

/** Runs a command line through the shell, as the AWS SDK for JavaScript does; errors say only how it ended. */
async function runCommand(command: string, { timeoutMs }: { timeoutMs: number }): Promise<string> {
  const windows = Deno.build.os === "windows";
  const shell = windows ? "cmd" : "sh";
  const args = windows ? ["/d", "/s", "/c", command] : ["-c", command];
  const signal = AbortSignal.timeout(timeoutMs);
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(shell, { args, stdin: "null", stdout: "piped", stderr: "null", signal }).output();
  } catch (error) {
    if (denied(error)) throw coded(`not permitted by Deno: credential_process needs --allow-run=${shell}`);
    if (signal.aborted) throw new Error(`stopped after ${timeoutMs} ms`);
    throw error;
  }
  if (signal.aborted) throw new Error(`stopped after ${timeoutMs} ms`);
  if (output.signal) throw new Error(`killed by ${output.signal}`);
  if (output.code !== 0) throw new Error(`exited with code ${output.code}`);
  if (output.stdout.length > MAX_OUTPUT) throw new Error(`printed more than ${MAX_OUTPUT} bytes`);
  return new TextDecoder().decode(output.stdout);
}

/**
 * HostIO for Deno. On Deno Deploy (`deploy`) there are no processes and no metadata endpoints: those sources
 * step aside (or fail when configured) and say so.
 */
export function denoIo(env: Readonly<Record<string, string | undefined>>, options: { deploy?: boolean } = {}): HostIO {
  const homeDir = env.HOME || env.USERPROFILE;
  return {
    env,
    ...(homeDir ? { homeDir } : {}),
    readFile,
    ...(options.deploy ? { metadataEndpoints: false } : { runCommand }),
  };
}
