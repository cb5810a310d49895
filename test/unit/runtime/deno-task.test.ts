// `deno task test`: the core's Deno-native tests, run by real Deno with no permissions at all.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("passes `deno task test`", { timeout: 60_000 }, async () => {
  const cwd = fileURLToPath(new URL("../../..", import.meta.url));
  const output = await new Promise<string>((resolve, reject) =>
    execFile("node_modules/.bin/deno", ["task", "test"], { cwd, env: { ...process.env, NO_COLOR: "1" } }, (error, stdout, stderr) =>
      error ? reject(new Error(`${stdout}${stderr}`)) : resolve(`${stdout}${stderr}`),
    ),
  );
  expect(output).toMatch(/ok \| [1-9]\d* passed \| 0 failed/);
});
