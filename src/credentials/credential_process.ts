// credential_process: a command from the shared config that prints credentials as JSON
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html).
import type { HostIO, SourceResult } from "./provider.ts";
import { credentialsFromJson } from "./provider.ts";
import { describeError } from "../errors.ts";

export const PROCESS_TIMEOUT_MS = 60_000;

/**
 * Runs `command` through the runtime's shell and reads `{"Version": 1, "AccessKeyId", "SecretAccessKey",
 * "SessionToken"?, "Expiration"?}` from its stdout. Neither stdout nor stderr ever reaches a message: they may hold
 * secrets.
 */
export async function processCredentials(io: HostIO, command: string, profile: string): Promise<SourceResult> {
  const what = `credential_process of profile ${profile}`;
  if (!io.runCommand) return { failed: `${what}: this runtime cannot run processes` };
  let stdout: string;
  try {
    stdout = await io.runCommand(command, { timeoutMs: PROCESS_TIMEOUT_MS });
  } catch (error) {
    return { failed: `${what} failed (${describeError(error)})` };
  }
  let version: unknown;
  try {
    version = (JSON.parse(stdout) as { Version?: unknown } | null)?.Version;
  } catch {
    return { failed: `${what} did not print valid JSON` };
  }
  if (version !== 1) return { failed: `${what} did not print Version 1` };
  const credentials = credentialsFromJson(stdout, "SessionToken", { token: false, expiration: false });
  if (typeof credentials === "string") return { failed: `${what}: ${credentials}` };
  return { credentials };
}
