// The data folder's checks before signpost reads its admin token and encryption key (src/runtime/kept-secret.ts):
// the folders above it, judged by mode and owner. The runtimes' own starts are in test/e2e/lifecycle.test.ts.
import { describe, expect, it } from "vitest";
import { checkFoldersAbove, foldersAbove } from "../../../src/runtime/kept-secret.ts";

describe("the folders above the data folder", () => {
  it("are every folder up to /, nearest first", () => {
    expect(foldersAbove("/srv/app/data")).toEqual(["/srv/app", "/srv", "/"]);
    expect(foldersAbove("/data")).toEqual(["/"]);
    expect(foldersAbove("/")).toEqual([]);
  });

  const judge = (mode: number, uid: number | null, me: number | null = 1000) => {
    const warnings: Record<string, string>[] = [];
    try {
      checkFoldersAbove("/x/data", [{ path: "/x", mode, uid }], me, (entry) => warnings.push(entry));
      return warnings.length ? `warn ${warnings[0]!.mode ?? ""}`.trim() : "ok";
    } catch (error) {
      return `refused: ${(error as Error).message}`;
    }
  };

  it.each([
    [0o40755, 0, "ok"], // root's
    [0o40700, 1000, "ok"], // one's own
    [0o41777, 0, "ok"], // /tmp: sticky, others may not rename one's folder
    [0o40777, 0, "refused: the folder /x above the data folder is writable by every user without the sticky bit (mode 777)"],
    [0o42777, 0, "refused: the folder /x above the data folder is writable by every user without the sticky bit (mode 2777)"],
    [0o40755, 1001, "warn"], // another user's (a checkout run as root in a container): warned about
    [0o40775, 0, "warn 775"], // the group may swap it
    [0o41775, 0, "ok"],
  ])("mode %s, owner %s: %s", (mode, uid, verdict) => {
    expect(judge(mode, uid)).toMatch(new RegExp(`^${verdict.replace(/[()]/g, "\\$&")}`));
  });

  it("judges the owner only when the runtime knows who it is (Deno without --allow-sys=uid)", () => {
    expect(judge(0o40755, 1001, null)).toBe("ok");
    expect(judge(0o40755, 1001, 0)).toBe("warn"); // root, in a folder another user owns
    expect(judge(0o40777, 1001, null)).toMatch(/^refused: .* without the sticky bit/);
  });
});
