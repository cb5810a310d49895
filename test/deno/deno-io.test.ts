// Runs in Deno with no permissions at all (`deno task test`): what the Deno HostIO does when a permission is
// missing. Each denial becomes a reason in the chain's 503, naming the flag to add; nothing throws past the chain.
/// <reference lib="deno.ns" />
import { defaultChain } from "../../src/credentials/chain.ts";
import { HttpError } from "../../src/errors.ts";
import { denoIo, readEnv } from "../../src/runtime/deno-io.ts";
import { createPresigner, webCryptoSha256 } from "../../src/aws/signer.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a rejection");
}

Deno.test("variables the permissions deny read as unset and are listed", () => {
  const { env, denied } = readEnv(["HOME", "AWS_PROFILE"]);
  assert(env.HOME === undefined && env.AWS_PROFILE === undefined, "denied variables are unset");
  assert(denied.join() === "HOME,AWS_PROFILE", `denied: ${denied.join()}`);
});

Deno.test("a denied read or run names the flag to add", async () => {
  const io = denoIo({});
  const read = await rejection(io.readFile!("/etc/hostname"));
  assert(read.code === "not permitted by Deno: run with --allow-read=/etc/hostname or its folder", `read: ${read.code}`);
  const run = await rejection(io.runCommand!("echo hello", { timeoutMs: 1000 }));
  assert(run.code === "not permitted by Deno: credential_process needs --allow-run=sh", `run: ${run.code}`);
});

Deno.test("the chain answers 503 with the reason when a configured source is denied", async () => {
  const io = denoIo({ HOME: "/home/nobody", AWS_WEB_IDENTITY_TOKEN_FILE: "/var/token", AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/r" });
  const error = await rejection(defaultChain(io, { signer: createPresigner(webCryptoSha256()) })());
  assert(error instanceof HttpError && error.status === 503, `503 expected, got ${error}`);
  assert(error.message.includes("shared files: profile default not found in /home/nobody/.aws/credentials or /home/nobody/.aws/config; cannot read"), error.message);
  assert(error.message.includes("web identity: cannot read the token file /var/token (not permitted by Deno: run with --allow-read=/var/token or its folder)"), error.message);
});

Deno.test("Deno Deploy: no processes, no metadata endpoints", () => {
  const io = denoIo({}, { deploy: true });
  assert(io.runCommand === undefined && io.metadataEndpoints === false, "deploy io");
});
