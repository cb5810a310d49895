// `deno task start` grants --allow-env by name: every variable the credential chain reads must be in the grant and in
// the list deno-io.ts reads (a name missing from either would silently read as unset on Deno).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const code = (file: string) => readFileSync(join(ROOT, file), "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
const task: string = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).tasks.start;
const flag = (name: string) => new RegExp(`--${name}=(\\S+)`).exec(task)?.[1]?.split(",") ?? [];

const chainVariables = [
  ...new Set(
    readdirSync(join(ROOT, "src/credentials"))
      .flatMap((file) => code(`src/credentials/${file}`).match(/\bAWS_[A-Z0-9_]+\b/g) ?? []),
  ),
].sort();

it("finds the chain's variables", () => {
  expect(chainVariables).toEqual(expect.arrayContaining(["AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_ENDPOINT_URL_STS", "AWS_REGION"]));
});

it("grants and reads every variable the chain reads, and HOME", () => {
  const listed = /CREDENTIAL_ENV_NAMES = \[([\s\S]*?)\]/.exec(code("src/runtime/deno-io.ts"))![1]!.match(/"[A-Z0-9_]+"/g)!.map((name) => name.slice(1, -1));
  for (const name of [...chainVariables, "HOME"]) {
    expect(flag("allow-env"), name).toContain(name);
    expect(listed, name).toContain(name);
  }
  for (const name of listed) expect(flag("allow-env"), name).toContain(name);
});

it("reads ~/.aws and the EKS token folders, writes only its data, runs nothing, never prompts", () => {
  expect(flag("allow-read")).toEqual([".signpost", "$HOME/.aws", "/var/run/secrets/eks.amazonaws.com", "/var/run/secrets/pods.eks.amazonaws.com"]);
  expect(flag("allow-write")).toEqual([".signpost"]);
  expect(task).not.toMatch(/--allow-run|--allow-all|\s-A\s/);
  expect(task).toContain("--no-prompt");
});
