// Summarises a V8 .cpuprofile (node --cpu-prof): self time by area (our files, packages, Node internals, GC) and by
// function, plus inclusive time of our own functions.
//
//   npx tsx bench/profile.ts FILE.cpuprofile
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, ROOT, table } from "./lib.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  idlePercent: number;
  /** Self time by area, as % of busy (non-idle) time. */
  areas: { name: string; percent: number }[];
  functions: { name: string; where: string; percent: number }[];
  /** Inclusive time of signpost's own functions (src/), as % of busy time. */
  ours: { name: string; where: string; percent: number }[];
}

function where(url: string, line: number): string {
  if (!url) return "";
  let path = url.startsWith("file://") ? fileURLToPath(url) : url;
  if (path.startsWith(ROOT)) path = path.slice(ROOT.length);
  const modules = path.lastIndexOf("node_modules/");
  if (modules !== -1) path = path.slice(modules + "node_modules/".length);
  return `${path}:${line + 1}`;
}

function area(url: string, functionName: string): string {
  if (!url) {
    if (functionName === "(garbage collector)") return "GC";
    if (functionName === "(program)") return "(program: native, unattributed)";
    return "V8 builtins / native";
  }
  let path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf("node_modules/");
  if (modules !== -1) {
    const parts = path.slice(modules + "node_modules/".length).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (path.startsWith("node:")) {
    const name = path.slice(5).replace(/^internal\//, "");
    if (/^(_http|http|https|net|stream|streams|dns|tcp|url|timers|buffer|events|async_hooks)/.test(name)) return `node: ${name.split("/")[0]!.replace(/^_/, "")}`;
    return `node: ${name.split("/")[0]}`;
  }
  if (path.startsWith(ROOT)) path = path.slice(ROOT.length);
  if (path.startsWith("src/")) return `signpost ${path}`;
  return path;
}

/**
 * `window`: only samples taken between these two moments, in µs of the monotonic clock that both V8's profiles and
 * `process.hrtime` use (so a bench can leave out start-up and set-up).
 */
export function summarizeProfile(file: string, window?: { from: number; to: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<number, number>();
  let total = 0;
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    time += delta;
    if (window && (time < window.from || time > window.to)) continue;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + delta);
    total += delta;
  }
  let idle = 0;
  const areas = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; micros: number }>();
  const inclusive = new Map<string, { name: string; where: string; micros: number }>();
  for (const [id, micros] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === "(idle)") {
      idle += micros;
      continue;
    }
    const name = area(url, functionName);
    areas.set(name, (areas.get(name) ?? 0) + micros);
    const key = `${functionName}@${url}:${lineNumber}`;
    const entry = functions.get(key) ?? { name: functionName || "(anonymous)", where: where(url, lineNumber), micros: 0 };
    entry.micros += micros;
    functions.set(key, entry);
    // Inclusive time of our functions: each distinct one on the stack once.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (!frame.url.includes("/src/") || frame.url.includes("node_modules")) continue;
      const ourKey = `${frame.functionName}@${frame.url}:${frame.lineNumber}`;
      if (seen.has(ourKey)) continue;
      seen.add(ourKey);
      const ourEntry = inclusive.get(ourKey) ?? { name: frame.functionName || "(anonymous)", where: where(frame.url, frame.lineNumber), micros: 0 };
      ourEntry.micros += micros;
      inclusive.set(ourKey, ourEntry);
    }
  }
  const busy = total - idle || 1;
  const percent = (micros: number) => (100 * micros) / busy;
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    idlePercent: (100 * idle) / (total || 1),
    areas: [...areas].map(([name, micros]) => ({ name, percent: percent(micros) })).sort((a, b) => b.percent - a.percent).slice(0, 14),
    functions: [...functions.values()].map((f) => ({ name: f.name, where: f.where, percent: percent(f.micros) })).sort((a, b) => b.percent - a.percent).slice(0, 25),
    ours: [...inclusive.values()].map((f) => ({ name: f.name, where: f.where, percent: percent(f.micros) })).sort((a, b) => b.percent - a.percent).slice(0, 15),
  };
}

/** `npm start`'s command with `node --cpu-prof` writing into `dir` (Node refuses --cpu-prof in NODE_OPTIONS). */
export function profiledStartCommand(dir: string): string {
  const script: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.start;
  if (!/^exec node /.test(script)) throw new Error(`cannot profile a start script that is not "exec node ...": ${script}`);
  return script.replace(/^exec node /, `exec node --cpu-prof --cpu-prof-dir=${dir} `);
}

/** The main thread's profile of process `pid` in `dir` (its largest .cpuprofile). */
export function profileOf(dir: string, pid: number): string {
  const file = readdirSync(dir)
    .filter((name) => name.includes(`.${pid}.`) && name.endsWith(".cpuprofile"))
    .map((name) => join(dir, name))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (!file) throw new Error(`no profile for pid ${pid} in ${dir}`);
  return file;
}

/** A summary's top costs per unit of work (`count` requests or URLs over the summarized window). */
export function printProfile(id: string, summary: ProfileSummary, count: number, unit = "req"): void {
  const per = (percent: number) => (((percent / 100) * summary.busyMs * 1000) / count).toFixed(2);
  console.log(
    `\nprofile of ${id}, main thread, timed run only: ${fmt(count)} ${unit === "req" ? "requests" : `${unit}s`}, ${((summary.busyMs * 1000) / count).toFixed(1)} µs busy per ${unit} (${fmt(summary.idlePercent, 1)}% idle)`,
  );
  console.log(table(["area (self time)", "% of busy", `µs/${unit}`], summary.areas.map((a) => [a.name, a.percent.toFixed(1), per(a.percent)])));
  console.log("");
  console.log(table(["function (self time)", "where", "% of busy", `µs/${unit}`], summary.functions.slice(0, 15).map((f) => [f.name, f.where, f.percent.toFixed(1), per(f.percent)])));
  if (summary.ours.length) {
    console.log("");
    console.log(table(["signpost function (inclusive)", "where", "% of busy", `µs/${unit}`], summary.ours.slice(0, 12).map((f) => [f.name, f.where, f.percent.toFixed(1), per(f.percent)])));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const file of process.argv.slice(2)) {
    const summary = summarizeProfile(file);
    console.log(`${file}: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.idlePercent.toFixed(1)}% idle\n`);
    console.log(table(["area", "% of busy"], summary.areas.map((a) => [a.name, a.percent.toFixed(1)])));
    console.log("");
    console.log(table(["function (self)", "where", "% of busy"], summary.functions.map((f) => [f.name, f.where, f.percent.toFixed(1)])));
    console.log("");
    console.log(table(["signpost function (inclusive)", "where", "% of busy"], summary.ours.map((f) => [f.name, f.where, f.percent.toFixed(1)])));
  }
}
