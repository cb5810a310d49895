// What the credential sources borrow from Node: environment, home directory, files and credential_process; and the
// Deno KV file's mode, for the server and the CLI.
import { exec } from "node:child_process";
import { chmodSync, closeSync, existsSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import type { HostIO } from "../credentials/provider.ts";

/** The home directory as the AWS SDK finds it: HOME, USERPROFILE, HOMEDRIVE+HOMEPATH, then the OS. */
function home(env: NodeJS.ProcessEnv): string | undefined {
  if (env.HOME) return env.HOME;
  if (env.USERPROFILE) return env.USERPROFILE;
  if (env.HOMEPATH) return `${env.HOMEDRIVE ?? "C:\\"}${env.HOMEPATH}`;
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

/** Runs a command line through the shell; errors say only how it ended (its output may hold secrets). */
function runCommand(command: string, { timeoutMs }: { timeoutMs: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    exec(command, { timeout: timeoutMs, maxBuffer: 1024 * 1024, windowsHide: true }, (error, stdout) => {
      if (!error) return resolve(stdout);
      const { code, signal, killed } = error as { code?: number | string; signal?: string; killed?: boolean };
      if (killed && signal) reject(new Error(`stopped after ${timeoutMs} ms`));
      else if (typeof code === "number") reject(new Error(`exited with code ${code}`));
      else if (signal) reject(new Error(`killed by ${signal}`));
      else reject(new Error(typeof code === "string" ? code : "could not run"));
    });
  });
}

export function nodeIo(env: NodeJS.ProcessEnv = process.env): HostIO {
  return {
    env,
    homeDir: home(env),
    readFile: (path) => readFile(path, "utf8"),
    runCommand,
  };
}

/**
 * The database file made (or made again) private before SQLite opens it: SQLite gives its -wal and -shm files the
 * database's mode, so all three are 0600 even in a folder that already existed (a mounted volume).
 */
export function privateDatabase(path: string): string {
  closeSync(openSync(path, "a", 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
  return path;
}
