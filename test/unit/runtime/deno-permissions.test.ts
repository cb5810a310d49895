// `deno task start` runs a launcher that grants the server exactly what it needs (src/runtime/deno-permissions.ts):
// every variable the credential chain and the server read (a name missing would silently read as unset on Deno), the
// data folder the user names (read and write), ~/.aws and the EKS token folders; no processes, no prompts.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { SERVER_ENV_NAMES } from "../../../src/config.ts";
import { CREDENTIAL_ENV_NAMES } from "../../../src/credentials/names.ts";
import { serverFlags } from "../../../src/runtime/deno-permissions.ts";
import { POSTGRES_ENV_NAMES } from "../../../src/runtime/postgres.ts";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const code = (file: string) => readFileSync(join(ROOT, file), "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
const flag = (flags: string[], name: string) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3).split(",") ?? [];

// The chain's sources, and the STS client they and the roles share.
const chainVariables = [
  ...new Set(["src/credentials", "src/aws"].flatMap((dir) => readdirSync(join(ROOT, dir)).flatMap((file) => code(`${dir}/${file}`).match(/\bAWS_[A-Z0-9_]+\b/g) ?? []))),
].sort();

it("finds the chain's variables", () => {
  expect(chainVariables).toEqual(expect.arrayContaining(["AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_ENDPOINT_URL_STS", "AWS_REGION"]));
});

it("grants every variable the chain and the server read, and HOME", () => {
  const granted = flag(serverFlags({}), "allow-env");
  const serverVariables = [...new Set(["src/config.ts", "src/runtime/deno.ts"].flatMap((file) => code(file).match(/\b(SIGNPOST_[A-Z_]+|PORT|HOST|DENO_DEPLOYMENT_ID)\b/g) ?? []))];
  for (const name of [...chainVariables, ...serverVariables, "HOME"]) expect(granted, name).toContain(name);
  expect(granted.sort()).toEqual([...CREDENTIAL_ENV_NAMES, ...SERVER_ENV_NAMES, ...POSTGRES_ENV_NAMES].sort());
});

it("grants every variable the PostgreSQL client (postgres.js) reads", () => {
  const library = readFileSync(join(ROOT, "node_modules/postgres/src/index.js"), "utf8");
  const named = library.match(/\benv\.([A-Z_]+)\b/g)!.map((m) => m.slice(4));
  // Its defaults are read as env['PG' + name.toUpperCase()] for each option the URL and signpost leave out.
  const defaults = /const defaults = \{([\s\S]*?)\n  \}/.exec(library)![1]!.match(/^\s*(\w+)\s*:/gm)!.map((m) => `PG${m.trim().slice(0, -1).trim().toUpperCase()}`);
  expect(named).toEqual(expect.arrayContaining(["PGHOST", "PGUSER", "PGPASSWORD"]));
  expect(defaults).toEqual(expect.arrayContaining(["PGSSL", "PGMAX"]));
  for (const name of [...named, ...defaults, "USERNAME", "USER", "LOGNAME"]) expect(POSTGRES_ENV_NAMES, name).toContain(name);
});

it("reads and writes the data folder the user names, reads ~/.aws and the EKS token folders, runs nothing, never prompts", () => {
  const flags = serverFlags({ SIGNPOST_DATA_DIR: "/srv/signpost data", HOME: "/home/app" }, ["--allow-run=sh"]);
  expect(flag(flags, "allow-read")).toEqual(["/srv/signpost data", "/home/app/.aws", "/var/run/secrets/eks.amazonaws.com", "/var/run/secrets/pods.eks.amazonaws.com"]);
  expect(flag(flags, "allow-write")).toEqual(["/srv/signpost data"]);
  expect(flags.at(-1)).toBe("--allow-run=sh"); // what the user adds after `deno task start`
  const defaults = serverFlags({});
  expect(flag(defaults, "allow-read")[0]).toBe(".signpost");
  expect(flag(defaults, "allow-write")).toEqual([".signpost"]);
  expect(defaults.join(" ")).not.toMatch(/--allow-run|--allow-all|^-A$/);
  expect(defaults).toContain("--no-prompt");
  expect(defaults.filter((f) => f.startsWith("--allow-sys"))).toEqual(["--allow-sys=uid"]); // its own uid, for the data folder's owner check
});

it("lets the launcher read only its two variables and run only Deno", () => {
  const task: string = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).tasks.start;
  expect(task).toBe("./node_modules/.bin/deno run --no-prompt --allow-env=SIGNPOST_DATA_DIR,HOME --allow-run=./node_modules/.bin/deno src/runtime/deno-start.ts");
});

it("never lets a comma widen a path flag: Deno splits paths at commas (a data folder /x,/ would grant all of /; an attack, 2026-12-01)", () => {
  expect(() => serverFlags({ SIGNPOST_DATA_DIR: "/tmp/data,/" })).toThrow(/SIGNPOST_DATA_DIR "\/tmp\/data,\/" has a comma/);
  const flags = serverFlags({ SIGNPOST_DATA_DIR: "/srv/data", HOME: "/home/app,/" });
  expect(flag(flags, "allow-read")).toEqual(["/srv/data", "/var/run/secrets/eks.amazonaws.com", "/var/run/secrets/pods.eks.amazonaws.com"]);
  for (const f of flags) expect(f.split("=")[1]?.split(",") ?? [], f).not.toContain("/");
});
