/// <reference lib="deno.ns" />
// What the credential sources borrow from Deno: environment (read by name), home directory, files and
// credential_process. Each is subject to Deno's permissions: a read or run they deny fails with a reason naming
// the flag to add, and the chain reports it (503), never a crash.
import type { HostIO } from "../credentials/provider.ts";

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
