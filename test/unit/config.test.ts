// config.ts: every setting refused with a message naming it, and the defaults.
import { describe, expect, it } from "vitest";
import * as settings from "../../src/config.ts";

describe("settings", () => {
  it.each([
    [{ PORT: "abc" }, () => settings.port({ PORT: "abc" }), /^PORT must be a whole number from 0 to 65535 \(0 picks a free port\), not "abc"$/],
    [{ PORT: "70000" }, () => settings.port({ PORT: "70000" }), /^PORT must be/],
    [{ SIGNPOST_ACCOUNT_CACHE_MS: "5s" }, () => settings.cacheMs({ SIGNPOST_ACCOUNT_CACHE_MS: "5s" }), /^SIGNPOST_ACCOUNT_CACHE_MS must be a whole number of milliseconds, not "5s"$/],
    [{ SIGNPOST_ADMIN_TOKEN: "short" }, () => settings.adminToken("short"), /at least 16 characters/],
  ])("refuses %j naming the variable", (_, parse, pattern) => {
    expect(parse).toThrow(pattern);
  });
  it("reads good values and defaults", () => {
    expect(settings.port({})).toBe(8787);
    expect(settings.port({ PORT: "0" })).toBe(0);
    expect(settings.cacheMs({})).toBe(5000);
    expect(settings.cacheMs({ SIGNPOST_ACCOUNT_CACHE_MS: "0" })).toBe(0);
    expect(settings.corsOrigins({ SIGNPOST_CORS_ORIGINS: " https://a.example , https://b.example," })).toEqual(["https://a.example", "https://b.example"]);
  });

  it("reads only the service's own settings for a Worker: a stray PORT binding is not its business", () => {
    const env = { PORT: "not-a-port", HOST: "", SIGNPOST_DATA_DIR: "/x", SIGNPOST_ACCOUNT_CACHE_MS: "0", SIGNPOST_ADMIN_TOKEN: "a".repeat(16) };
    expect(settings.serviceSettings(env)).toEqual({ adminToken: "a".repeat(16), encryptionKey: undefined, corsOrigins: [], cacheMs: 0 });
    expect(() => settings.readSettings(env)).toThrow(/^PORT must be/);
    expect(settings.readSettings({ ...env, PORT: "0" })).toMatchObject({ port: 0, host: "127.0.0.1", dataDir: "/x", cacheMs: 0 });
  });
});

describe("SIGNPOST_DATABASE_URL", () => {
  it("takes a postgres:// or postgresql:// URL, and refuses anything else without echoing it (it may hold a password)", () => {
    expect(settings.databaseUrl({})).toBeUndefined();
    expect(settings.databaseUrl({ SIGNPOST_DATABASE_URL: "" })).toBeUndefined();
    expect(settings.databaseUrl({ SIGNPOST_DATABASE_URL: "postgres://u:p@db:5432/signpost" })).toBe("postgres://u:p@db:5432/signpost");
    expect(settings.readSettings({ SIGNPOST_DATABASE_URL: "postgresql://db/signpost" }).databaseUrl).toBe("postgresql://db/signpost");
    for (const bad of ["mysql://u:hunter2secret@db/x", "db:5432", "postgres//u:hunter2secret@db"]) {
      const parse = () => settings.databaseUrl({ SIGNPOST_DATABASE_URL: bad });
      expect(parse).toThrow(/^SIGNPOST_DATABASE_URL must be a PostgreSQL URL/);
      expect(parse).not.toThrow(/hunter2secret/);
    }
  });

  it("needs the encryption key and the admin token set, the same on every replica, never generated", () => {
    expect(() => settings.requireSharedSecrets({ adminToken: undefined, encryptionKey: undefined })).toThrow(/set SIGNPOST_ENCRYPTION_KEY and SIGNPOST_ADMIN_TOKEN, the same on each/);
    expect(() => settings.requireSharedSecrets({ adminToken: "a".repeat(16), encryptionKey: undefined })).toThrow(/^SIGNPOST_DATABASE_URL is set, so the database is shared by every replica: set SIGNPOST_ENCRYPTION_KEY, /);
    expect(settings.requireSharedSecrets({ adminToken: "a".repeat(16), encryptionKey: "k" })).toEqual({ adminToken: "a".repeat(16), encryptionKey: "k" });
  });
});
