// Where an object lives: the URL parts the signer needs, for AWS and for S3-compatible hosts.
import type { AwsAccount } from "./account.ts";
import { encodeRfc3986 } from "./signer.ts";

export interface ObjectLocation {
  protocol: "http:" | "https:";
  /** host[:port] as sent in the Host header (default ports left out, as URL clients do). */
  host: string;
  /** Encoded path: each key segment RFC 3986 encoded, '/' kept. */
  path: string;
}

/**
 * Encodes each '/'-separated segment; S3 signs the path as sent, with no second encoding. One pass over the whole
 * key: encodeURIComponent writes '/' as %2F, and only '/' (a '%' in the key becomes %25).
 */
export function encodeKey(key: string): string {
  return encodeRfc3986(key).replaceAll("%2F", "/");
}

export type Endpoint = Pick<AwsAccount, "region" | "host" | "path-style" | "use-ssl">;

export function objectLocation(account: Endpoint, bucket: string, key: string): ObjectLocation {
  const protocol = account["use-ssl"] ? "https:" : "http:";
  const encodedKey = encodeKey(key);
  let host: string;
  let pathStyle = account["path-style"];
  if (account.host) {
    host = withoutDefaultPort(account.host, protocol);
  } else {
    host = `s3.${account.region}.amazonaws.com`;
    // A dotted bucket name breaks the *.s3 wildcard certificate, so AWS needs path style for it.
    pathStyle ||= bucket.includes(".");
  }
  if (pathStyle) return { protocol, host, path: `/${bucket}/${encodedKey}` };
  return { protocol, host: `${bucket}.${host}`, path: `/${encodedKey}` };
}

function withoutDefaultPort(host: string, protocol: string): string {
  const defaultPort = protocol === "https:" ? ":443" : ":80";
  return host.endsWith(defaultPort) ? host.slice(0, -defaultPort.length) : host;
}
