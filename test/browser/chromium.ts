// Real Chromium for the browser tests: Debian's `chromium` package (installed with apt-get when missing and running
// as root, as test/e2e/global-setup.ts does for radosgw; otherwise the test fails saying how to install it), driven by
// puppeteer-core. Flags: headless, no sandbox (root), and none of the background connections a closed network refuses.
import { execFile } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import puppeteer, { type Browser } from "puppeteer-core";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const INSTALL = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium";
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Chromium's path, installing Debian's package first when it is missing and this runs as root with apt-get. */
export async function ensureChromium(log: (line: string) => void = console.log): Promise<string> {
  if (executable(CHROMIUM)) return CHROMIUM;
  if (process.getuid?.() !== 0 || !executable("/usr/bin/apt-get") || process.env.CHROMIUM_PATH) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: run as root \`${INSTALL}\` (or set CHROMIUM_PATH); the Uppy tests need a real browser`);
  }
  log("[browser] chromium missing: installing Debian's chromium package with apt-get (about a minute)");
  const run = promisify(execFile);
  await run("apt-get", ["update"], { maxBuffer: 64 << 20 });
  await run("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, maxBuffer: 64 << 20 });
  if (!executable(CHROMIUM)) throw new Error(`apt-get installed chromium, but ${CHROMIUM} is still missing`);
  return CHROMIUM;
}

/** A headless Chromium with a fresh profile; `close` ends it and removes the profile. */
export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const executablePath = await ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), "signpost-chromium-"));
  const browser = await puppeteer.launch({ executablePath, headless: true, userDataDir: profile, args: FLAGS, timeout: 60_000 });
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
