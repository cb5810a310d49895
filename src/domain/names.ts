// Names signpost takes from its callers: resource ids, bucket names, object keys, S3 hosts. Every failure is a 400
// whose message says what was wrong and what is allowed.
import { isResourceId } from "../store/store.ts";
import { invalidFor } from "./fields.ts";

const MAX_KEY_BYTES = 1024;
/** A '.' or '..' segment. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

const invalid: (message: string) => never = invalidFor("");

export function checkId(id: string, what = "id"): string {
  if (!isResourceId(id)) invalid(`${what} must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.', and not . or ..`);
  return id;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const BUCKET_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const BUCKET_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/** S3 general purpose bucket naming rules. */
export function checkBucket(bucket: string): string {
  const rules = "bucket names are 3 to 63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit";
  if (!BUCKET.test(bucket)) invalid(`invalid bucket name: ${rules}`);
  if (bucket.includes("..")) invalid("invalid bucket name: no two adjacent periods");
  if (IPV4.test(bucket)) invalid("invalid bucket name: must not be formatted as an IP address");
  if (BUCKET_PREFIXES.some((p) => bucket.startsWith(p)) || BUCKET_SUFFIXES.some((s) => bucket.endsWith(s))) {
    invalid("invalid bucket name: uses a prefix or suffix that S3 reserves");
  }
  return bucket;
}

export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Object keys: 1..1024 UTF-8 bytes, no control characters, no `.` or `..` segments. */
export function checkKey(key: unknown): string {
  if (typeof key === "number" || typeof key === "boolean") invalid(`filename must be a string (in YAML, quote it: filename: "${key}")`);
  if (typeof key !== "string") invalid("filename must be a string");
  if (key.length === 0) invalid("object key is empty");
  // S3 keys have no leading slash: "/a.txt" would be a key whose first segment is empty, never what was meant.
  if (key.startsWith("/")) invalid(`object key must not start with '/' (S3 keys have no leading slash: ${JSON.stringify(key.replace(/^\/+/, ""))})`);
  if (CONTROL.test(key)) invalid("object key must not contain control characters");
  if (LONE_SURROGATE.test(key)) invalid("object key is not valid Unicode");
  // A UTF-16 code unit takes at most 3 UTF-8 bytes: only long keys need counting.
  if (key.length * 3 > MAX_KEY_BYTES && new TextEncoder().encode(key).length > MAX_KEY_BYTES) invalid(`object key is longer than ${MAX_KEY_BYTES} UTF-8 bytes`);
  // URL clients resolve dot segments before sending, so a URL for such a key could never reach it.
  if (DOT_SEGMENT.test(key)) {
    invalid("object key must not contain '.' or '..' path segments");
  }
  return key;
}

const HOST_RULE = "host must be host[:port] with no scheme or path, e.g. 127.0.0.1:9000 or s3.example.com";
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const DOTTED_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);
// Names that reach a cloud's metadata service from inside it.
const METADATA_NAMES = new Set(["metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"]);

/** Why signpost will not send signed requests to this IPv4 address, or undefined when it may. */
function refusedIpv4(octets: number[]): string | undefined {
  const [a, b, c, d] = octets as [number, number, number, number];
  if (a === 169 && b === 254) return "a link-local address, where cloud metadata and credential services answer";
  // Alibaba Cloud's metadata service, Azure's WireServer, Oracle Cloud's secondary metadata address.
  if ((a === 100 && b === 100 && c === 100 && d === 200) || (a === 168 && b === 63 && c === 129 && d === 16) || (a === 192 && b === 0 && c === 0 && d === 192)) {
    return "a cloud metadata address";
  }
  if (a === 0) return "not an address a server can have";
  if (a >= 224) return "a multicast or reserved address";
  return undefined;
}

/** The same for an IPv6 address in URL-canonical form (no brackets). */
function refusedIpv6(address: string): string | undefined {
  const [head = "", tail] = address.split("::") as [string, string | undefined];
  const groups = (text: string) => (text ? text.split(":") : []);
  let parts = groups(head);
  if (tail !== undefined) parts = [...parts, ...Array(8 - parts.length - groups(tail).length).fill("0"), ...groups(tail)];
  const words = parts.map((part) => parseInt(part, 16));
  if (words.every((word) => word === 0)) return "the unspecified address";
  if ((words[0]! & 0xffc0) === 0xfe80) return "a link-local address, where cloud metadata and credential services answer";
  if ((words[0]! & 0xff00) === 0xff00) return "a multicast address";
  if (words[0] === 0xfd00 && words[1] === 0x0ec2) return "the AWS metadata and credential service range (fd00:ec2::/32)";
  const ipv4 = (high: number, low: number) => refusedIpv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  // 6to4 (2002::/16) carries an IPv4 address in its second and third words.
  if (words[0] === 0x2002) return ipv4(words[1]!, words[2]!);
  // IPv4 inside IPv6, judged as that IPv4 address: mapped ::ffff:0:0/96, translated ::ffff:0:0:0/96, compatible
  // ::/96 (not ::1, the loopback, whose upper word is 0), NAT64 64:ff9b::/96 and its local-use 64:ff9b:1::/48.
  const zeros = (from: number, to: number) => words.slice(from, to).every((word) => word === 0);
  const embedsIpv4 =
    (zeros(0, 5) && (words[5] === 0xffff || (words[5] === 0 && words[6] !== 0))) ||
    (zeros(0, 4) && words[4] === 0xffff && words[5] === 0) ||
    (words[0] === 0x64 && words[1] === 0xff9b && (zeros(2, 6) || words[2] === 1));
  return embedsIpv4 ? ipv4(words[6]!, words[7]!) : undefined;
}

/** A host name for this machine itself (a URL's hostname: IPv6 in brackets). */
export const isLoopbackHost = (hostname: string): boolean => /^(localhost|127(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}|\[::1\])$/.test(hostname);

/**
 * host[:port] of an S3-compatible server: a DNS name, or an IP literal as URL clients write it (dotted decimal, or
 * bracketed IPv6 in its shortest form), with a port from 1 to 65535. Loopback and private addresses are allowed (a
 * local MinIO, a self-hosted RGW); link-local addresses and cloud metadata endpoints are not.
 */
export function checkHost(host: string): string {
  const lower = host.toLowerCase();
  if (lower.length > 261) invalid(HOST_RULE);
  const bracket = lower.startsWith("[") ? lower.indexOf("]") : -1;
  const portAt = bracket >= 0 ? bracket + 1 : lower.indexOf(":");
  const name = portAt === -1 || portAt === lower.length ? lower : lower.slice(0, portAt);
  const port = name === lower ? undefined : lower.slice(portAt);
  if (port !== undefined && !/^:[1-9]\d{0,4}$/.test(port)) invalid(`${HOST_RULE} (the port is a number from 1 to 65535)`);
  if (port !== undefined && Number(port.slice(1)) > 65535) invalid(`${HOST_RULE} (the port is a number from 1 to 65535)`);
  let reason: string | undefined;
  if (bracket >= 0) {
    let canonical: string;
    try {
      canonical = new URL(`http://${name}/`).hostname;
    } catch {
      return invalid(`${HOST_RULE}: ${name} is not an IPv6 address`);
    }
    reason = refusedIpv6(canonical.slice(1, -1));
    if (!reason && canonical !== name) invalid(`host: write the IPv6 address as URL clients do, ${canonical}`);
  } else {
    const labels = name.split(".");
    if (!labels.every((label) => LABEL.test(label))) invalid(HOST_RULE);
    // URL clients read a name whose last label is a number as an IPv4 address (2130706433, 0x7f.1, 0177.0.0.1).
    if (/^(\d+|0x[0-9a-f]*)$/.test(labels[labels.length - 1]!)) {
      const quad = DOTTED_QUAD.exec(name);
      if (!quad) invalid(`${HOST_RULE}: an IPv4 address is four decimal numbers from 0 to 255 without leading zeros, e.g. 10.0.0.5`);
      reason = refusedIpv4(quad.slice(1).map(Number));
    } else if (METADATA_NAMES.has(name)) {
      reason = "a cloud metadata service's name";
    }
  }
  if (reason) invalid(`host ${name} is ${reason}: signpost sends no signed requests there`);
  return lower;
}

function decodeSegment(segment: string, what: string): string {
  if (!segment.includes("%")) return segment; // nothing to decode (decodeURIComponent costs a tenth of a request)
  try {
    return decodeURIComponent(segment); // unlike form decoding, '+' stays a plus
  } catch {
    return invalid(`${what} has invalid percent-encoding`);
  }
}

/**
 * `<account>/<bucket>/<key...>` of a raw (still percent-encoded) storage path: account and bucket decoded on their
 * own; the key decoded in one pass, which equals decoding each segment (an escape never spans a '/'), with empty
 * segments kept.
 */
export function storagePath(path: string): { accountId: string; bucket: string; key: string | undefined } {
  const accountEnd = path.indexOf("/");
  const bucketEnd = accountEnd === -1 ? -1 : path.indexOf("/", accountEnd + 1);
  const account = accountEnd === -1 ? path : path.slice(0, accountEnd);
  const bucket = accountEnd === -1 ? "" : path.slice(accountEnd + 1, bucketEnd === -1 ? undefined : bucketEnd);
  return {
    accountId: checkId(decodeSegment(account, "account id"), "account id"),
    bucket: checkBucket(decodeSegment(bucket, "bucket name")),
    // undefined: nothing after the bucket at all; "": a trailing slash (an empty key)
    key: bucketEnd === -1 ? undefined : decodeSegment(path.slice(bucketEnd + 1), "object key"),
  };
}
