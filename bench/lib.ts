// Shared helpers for the benches: statistics, child servers and their CPU time, and table printing.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { openSync, readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { nodeSha256 } from "../src/runtime/node-crypto.ts";
import { createPresigner } from "../src/aws/signer.ts";
import { expectedSignature } from "../test/verify-url.ts";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

// The CPU flags that move these figures: SHA extensions (SHA-256 in hardware), AES, the vector widths.
const FLAGS_THAT_MATTER = ["sha_ni", "aes", "avx2", "avx512f"];

/**
 * The host as `lscpu` names it: model, vendor, family/model/stepping, hypervisor, cores, and which of the flags that
 * matter it has (BENCHMARKS.md keeps a row per host seen). Printed by every bench, so that no figure goes without it.
 */
export function hostLine(): string {
  let info = "";
  try {
    info = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return `${availableParallelism()} cores (no /proc/cpuinfo)`;
  }
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(info)?.[1]?.trim();
  const flags = new Set((field("flags") ?? "").split(/\s+/));
  const has = FLAGS_THAT_MATTER.map((flag) => `${flags.has(flag) ? "" : "no "}${flag}`).join(", ");
  const where = flags.has("hypervisor") ? "a VM guest" : "bare metal";
  return `${field("model name") ?? "unknown CPU"} (${field("vendor_id") ?? "?"}, family ${field("cpu family") ?? "?"} model ${field("model") ?? "?"} stepping ${field("stepping") ?? "?"}), ${where}, ${availableParallelism()} cores; ${has}`;
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The q-quantile (0..1) of `values`, nearest rank. */
export function quantile(values: Float64Array | number[], q: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** "ratio (by CPU time ...)  target >= x: PASS|MISS" lines, as bench/signer.ts prints them. */
export function verdict(value: number, target: number | undefined): string {
  return target === undefined ? "" : `  target >= ${target}x: ${value >= target ? "PASS" : "MISS"}`;
}

export function table(header: string[], rows: (string | number)[][], alignLeft = 1): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  return cells
    .map((row) => row.map((cell, column) => (column < alignLeft ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  "))
    .join("\n");
}

export const fmt = (value: number, digits = 0) =>
  value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---------------------------------------------------------------------------------------------
// Processes

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** User and system CPU time (all threads, including finished ones) of a process, in µs. */
export function processCpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // after "pid (comm) "
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15
  return { user: (Number(fields[11]) * 1e6) / CLOCK_TICKS, system: (Number(fields[12]) * 1e6) / CLOCK_TICKS };
}

/** CPU time (user + system, all threads, including finished ones) of a process, in µs. */
export function processCpuMicros(pid: number): number {
  const { user, system } = processCpuSplit(pid);
  return user + system;
}

/** Context switches (voluntary and not) of a process's main thread so far: how often it slept and was woken. */
export function contextSwitches(pid: number | "self"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? NaN) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** The process under `root` (itself included) whose command line contains `needle`. */
export function findProcess(root: number, needle: string): number | undefined {
  const all = readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
  const inTree = (pid: number) => {
    for (let at: number | undefined = pid, hops = 0; at && hops < 16; at = parentOf(at), hops++) if (at === root) return true;
    return false;
  };
  for (const pid of all) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(needle) && inTree(pid)) return pid;
    } catch {
      // gone
    }
  }
  return undefined;
}

export interface Server {
  name: string;
  /** http://127.0.0.1:PORT */
  url: string;
  /** The process that serves (for CPU time), not a wrapper such as npm. */
  pid: number;
  stderr: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts a server process that prints `{"message":"listening","url":...}` on stderr, as signpost does. Its stdout
 * goes to /dev/null (signpost's request log stays on: every line is still formatted and written).
 */
export async function startServer(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  needle: string,
  cwd = ROOT,
): Promise<Server> {
  const devNull = openSync("/dev/null", "w");
  const child: ChildProcess = spawn(command, args, {
    cwd,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...env },
    stdio: ["ignore", devNull, "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s:\n${stderr}`)), 60_000);
    child.stderr!.on("data", () => {
      const match = /"message":"listening","url":"([^"]+)"/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${stderr}`));
    });
  });
  const pid = findProcess(child.pid!, needle);
  if (pid === undefined) throw new Error(`${name}: no process matching ${needle} under ${child.pid}`);
  return {
    name,
    url,
    pid,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return;
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // gone
        }
      }, 10_000);
      await exited;
      // npm may exit before its child: wait for the server itself too.
      for (let i = 0; i < 200 && parentOf(pid) !== undefined; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Checking URLs before timing them

const STANDARD_PARAMS = new Set(["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"]);
/** The AWS SDK presigner adds two signed parameters of its own (as in bench/signer.ts); our signer reproduces its URL when given them. */
export const SDK_EXTRA_QUERY = { "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD", "x-id": "GetObject" };
const ours = createPresigner(nodeSha256);

export interface ExpectedUrl {
  host: string;
  /** Encoded path. */
  path: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  expiresIn: number;
  /** Parameters beyond SigV4's own (the SDK's). */
  extraQuery?: Record<string, string>;
}

/**
 * Checks a presigned https GET URL: host, path, expiry, signed headers, no parameters nobody asked for, and the
 * signature, recomputed by our signer (same date and parameters) and, for plain SigV4 URLs, independently by
 * @smithy/signature-v4 (test/verify-url.ts). Returns what is wrong, if anything.
 */
export async function checkPresignedGet(who: string, url: string, expected: ExpectedUrl): Promise<string[]> {
  const failures: string[] = [];
  const extraQuery = expected.extraQuery ?? {};
  const parsed = new URL(url);
  const params = Object.fromEntries(parsed.searchParams);
  if (parsed.protocol !== "https:" || parsed.host !== expected.host || parsed.pathname !== expected.path) {
    failures.push(`${who}: URL ${url} is not for https://${expected.host}${expected.path}`);
  }
  if (params["X-Amz-Expires"] !== String(expected.expiresIn)) failures.push(`${who}: X-Amz-Expires=${params["X-Amz-Expires"]}`);
  if (params["X-Amz-SignedHeaders"] !== "host") failures.push(`${who}: signs headers ${params["X-Amz-SignedHeaders"]}`);
  const extra = Object.fromEntries(Object.entries(params).filter(([name]) => !STANDARD_PARAMS.has(name)));
  if (JSON.stringify(extra) !== JSON.stringify(extraQuery)) failures.push(`${who}: extra parameters ${JSON.stringify(extra)}`);
  if (Object.keys(extraQuery).length === 0) {
    const smithy = await expectedSignature(url, "GET", expected.credentials);
    if (params["X-Amz-Signature"] !== smithy) failures.push(`${who}: signature ${params["X-Amz-Signature"]}, smithy computes ${smithy}`);
  }
  const time = params["X-Amz-Date"] ?? "";
  const date = new Date(time.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
  const again = await ours.presign({
    method: "GET",
    protocol: "https:",
    host: expected.host,
    path: expected.path,
    ...(Object.keys(extraQuery).length ? { query: extraQuery } : {}),
    region: expected.region,
    credentials: expected.credentials,
    expiresIn: expected.expiresIn,
    date,
  });
  if (new URL(again).searchParams.get("X-Amz-Signature") !== params["X-Amz-Signature"]) failures.push(`${who}: our signer computes ${again}`);
  return failures;
}
