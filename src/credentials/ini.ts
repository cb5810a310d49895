// The AWS shared config and credentials files, parsed as the AWS SDK for JavaScript parses them
// (@smithy/shared-ini-file-loader): https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html
import type { HostIO } from "./provider.ts";

export type Profile = Record<string, string>;
export type Sections = Record<string, Profile>;

const SECTION_PREFIX = /^([\w-]+)\s(["'])?([\w\-@+.%:/]+)\2$/;

/**
 * Sections by name, keys by name. Comments start with '#' or ';' at the start of a line or after whitespace.
 * A key with an empty value opens a sub-section (e.g. `s3 =` followed by indented keys), kept as `s3.key`.
 * `[profile x]` becomes the section `profile x`; other `[type name]` forms keep their name as written.
 */
export function parseIni(text: string): Sections {
  const sections: Sections = Object.create(null);
  let section: string | undefined;
  let subsection: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.split(/(?:^|\s)[;#]/)[0]!.trim();
    if (line.startsWith("[") && line.endsWith("]")) {
      const name = line.slice(1, -1).trim();
      const prefixed = SECTION_PREFIX.exec(name);
      section = prefixed ? `${prefixed[1]} ${prefixed[3]}` : name;
      subsection = undefined;
      if (section === "__proto__" || section.endsWith(" __proto__")) section = undefined;
      continue;
    }
    if (section === undefined) continue;
    const equals = line.indexOf("=");
    if (equals <= 0) continue;
    const key = line.slice(0, equals).trim();
    const value = line.slice(equals + 1).trim();
    if (value === "") {
      subsection = key;
      continue;
    }
    if (subsection !== undefined && raw.trimStart() === raw) subsection = undefined; // not indented: sub-section over
    (sections[section] ??= Object.create(null) as Profile)[subsection !== undefined ? `${subsection}.${key}` : key] = value;
  }
  return sections;
}

export interface SharedFiles {
  /** Profiles by name: the config file's `[default]` and `[profile x]`, overlaid key by key with the credentials file's `[x]`. */
  profiles: Record<string, Profile>;
  credentialsFile: string;
  configFile: string;
  /** Files that exist but could not be read (not ENOENT), with the reason. */
  unreadable: string[];
}

function expandHome(path: string, home: string | undefined): string {
  if (!path.startsWith("~/")) return path;
  return home ? `${home.replace(/\/+$/, "")}/${path.slice(2)}` : path;
}

/** AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials) and AWS_CONFIG_FILE (default ~/.aws/config). */
export async function loadSharedFiles(io: HostIO & { readFile: NonNullable<HostIO["readFile"]> }): Promise<SharedFiles> {
  const home = io.homeDir;
  const credentialsFile = expandHome(io.env.AWS_SHARED_CREDENTIALS_FILE || "~/.aws/credentials", home);
  const configFile = expandHome(io.env.AWS_CONFIG_FILE || "~/.aws/config", home);
  const unreadable: string[] = [];
  const read = async (path: string): Promise<Sections> => {
    if (path.startsWith("~/")) return {}; // no home directory known
    try {
      return parseIni(await io.readFile(path));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") unreadable.push(`${path} (${typeof code === "string" ? code : "unreadable"})`);
      return {};
    }
  };
  const [config, credentials] = await Promise.all([read(configFile), read(credentialsFile)]);

  const profiles: Record<string, Profile> = Object.create(null);
  if (config.default) profiles.default = { ...config.default };
  for (const [name, values] of Object.entries(config)) {
    if (name.startsWith("profile ")) profiles[name.slice(8)] = { ...values };
  }
  for (const [name, values] of Object.entries(credentials)) {
    profiles[name] = { ...profiles[name], ...values };
  }
  return { profiles, credentialsFile, configFile, unreadable };
}
