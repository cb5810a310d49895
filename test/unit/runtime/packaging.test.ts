// What a new user installs and builds: the README's Worker recipe, npm's install scripts, the Docker image.
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as settings from "../../../src/config.ts";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

describe("the README's Worker recipe", () => {
  it("sets both secrets in .dev.vars and runs wrangler dev on a port npm start does not use", () => {
    const readme = readFileSync(`${ROOT}/README.md`, "utf8");
    const devVars = /^printf '(.*)' .*> \.dev\.vars$/m.exec(readme)![1]!;
    expect(devVars).toMatch(/SIGNPOST_ADMIN_TOKEN=/);
    expect(devVars).toMatch(/SIGNPOST_ENCRYPTION_KEY=/);
    const port = /^npx wrangler dev --port (\d+)/m.exec(readme)![1];
    expect(port).not.toBe(String(settings.port({})));
  });
});

describe("install and image", () => {
  it("installs without npm asking about install scripts", () => {
    const output = execFileSync("npm", ["install-scripts", "ls"], { cwd: ROOT, encoding: "utf8" });
    expect(output).toMatch(/No packages with unreviewed install scripts/);
  });

  it("has a Dockerfile that runs npm start's command as a non-root user, with a health check on /health", () => {
    const dockerfile = readFileSync(`${ROOT}/Dockerfile`, "utf8");
    const start: string = JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")).scripts.start;
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(`exec ${cmd.join(" ")}`).toBe(start);
    expect(/^USER (\S+)$/m.exec(dockerfile)?.[1]).not.toMatch(/^(root|0)$/);
    expect(dockerfile).toMatch(/^HEALTHCHECK [^\n]*\\\n[^\n]*\/health/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
  });

  it("needs nothing at run time that `npm ci --omit=dev` leaves out", () => {
    const dependencies = Object.keys(JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")).dependencies);
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(file, "utf8");
      for (const [, from, dynamic] of code.matchAll(/^(?:import|export)\s(?!type\b)[^"']*?from\s+["']([^"']+)["']|\bimport\(["']([^"']+)["']\)/gm)) {
        const specifier = from ?? dynamic;
        if (specifier!.startsWith(".")) visit(new URL(specifier!, `file://${file}`).pathname);
        else if (!specifier!.startsWith("node:")) {
          const name = specifier!.startsWith("@") ? specifier!.split("/").slice(0, 2).join("/") : specifier!.split("/")[0]!;
          expect(dependencies, `${file} imports ${specifier}`).toContain(name);
        }
      }
    };
    // npm start's loader too: it registers its hooks by path, and they import esbuild when the first file loads.
    for (const file of ["node-loader.mjs", "node-loader-hooks.mjs", "node.ts"]) visit(`${ROOT}/src/runtime/${file}`);
    expect(seen.size).toBeGreaterThan(20);
    expect(dependencies).toContain("esbuild");
  });
});
