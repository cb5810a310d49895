// Starts signpost the way a user does (`npm start`) on a free port, in its own data folder.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface RunningService {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  /** The admin token printed at first start, when signpost generated one. */
  printedToken?: string;
  stderr: () => string;
  stdout: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop: () => Promise<number | null>;
  /** Kills the process group at once (SIGKILL), as a crash or power loss would. */
  crash: () => Promise<void>;
}

export async function startService(env: Record<string, string | undefined>): Promise<RunningService> {
  const child: ChildProcess = spawn("npm", ["start", "--silent"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", SIGNPOST_ADMIN_TOKEN: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so nothing outlives the test
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`signpost did not start in 20 s:\n${stderr}`)), 20_000);
    const check = () => {
      const match = /"message":"listening","url":"([^"]+)"/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stderr!.on("data", check);
    exited.then((code) => reject(new Error(`signpost exited with ${code}:\n${stderr}`)));
  });

  return {
    url,
    printedToken: /generated an admin token[^\n]*\n([A-Za-z0-9_-]{43})\n/.exec(stderr)?.[1],
    stderr: () => stderr,
    stdout: () => stdout,
    async crash() {
      process.kill(-child.pid!, "SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timeout = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(timeout);
      return code;
    },
  };
}

/** A client for the service's API with the admin token. */
export function apiClient(base: string, token: string) {
  return async (method: string, path: string, body?: string, type = "text/yaml") => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": type } : {}) },
      body,
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
  };
}
