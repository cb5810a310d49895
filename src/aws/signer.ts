// SigV4 query-string presigning for S3 (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html),
// and header signing for the few API calls signpost makes itself (STS AssumeRole, a form POST).
// Small on purpose: one canonical request, one string to sign, one HMAC, with the derived signing key cached.
// The hash primitives are injected: Web Crypto everywhere, node:crypto on Node (synchronous, ~20x faster per call).
import { toHex } from "../crypto/encoding.ts";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When temporary credentials stop working; absent for long-term keys. */
  expiration?: Date;
}

/** SHA-256 and HMAC-SHA256. Results may be plain values (node:crypto) or promises (Web Crypto). */
export interface Sha256<Key> {
  sha256Hex(data: string): string | Promise<string>;
  importKey(raw: Uint8Array<ArrayBuffer>): Key | Promise<Key>;
  hmac(key: Key, data: string): Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer>>;
  hmacHex(key: Key, data: string): string | Promise<string>;
}

export interface PresignRequest {
  method: string;
  /** `http:` or `https:` */
  protocol: string;
  /** host[:port] exactly as the client will send it in the Host header. */
  host: string;
  /** Already-encoded path; S3 signs it as is (no double encoding). */
  path: string;
  /** Extra query parameters to sign, e.g. response-content-disposition. */
  query?: Record<string, string>;
  /** Headers the client must send, signed besides host (e.g. content-type); names in lower case. */
  headers?: Record<string, string>;
  region: string;
  service?: string;
  credentials: Credentials;
  /** Lifetime in seconds (1..604800). */
  expiresIn: number;
  /** Signing time. */
  date: Date;
  /** The payload's hash as signed; default UNSIGNED-PAYLOAD (S3). RDS IAM tokens sign the empty body's hash. */
  payloadHash?: string;
}

export interface Presigner {
  /** The URL; a plain string when the hash primitives answer synchronously (node:crypto). */
  presign(request: PresignRequest): string | Promise<string>;
}

/** A request signed with an Authorization header (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). */
export interface SignRequest {
  method: string;
  /** host[:port] exactly as the client will send it in the Host header. */
  host: string;
  /** Already-encoded path, signed as is (STS: "/"). */
  path: string;
  /** Query parameters (S3: uploads, uploadId); the URL must carry them as `canonicalQuery` gives them. */
  query?: Record<string, string>;
  /** Headers to send and sign, names in lower case; not host (added here) nor authorization. */
  headers: Record<string, string>;
  body: string;
  region: string;
  service: string;
  credentials: Credentials;
  date: Date;
}

export interface HeaderSigner {
  /** The headers to send: the given ones, x-amz-date, x-amz-security-token (temporary credentials), authorization. */
  sign(request: SignRequest): Promise<Record<string, string>>;
  /** Hex HMAC of `text` with the SigV4 signing key of `day` (yyyymmdd): a POST policy's X-Amz-Signature. */
  signString(text: string, day: string, region: string, service: string, secret: string): Promise<string>;
}

const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
const SUB_DELIMS = /[!'()*]/;

/** encodeURIComponent plus the RFC 3986 reserved characters it leaves alone. */
export function encodeRfc3986(value: string): string {
  if (UNRESERVED.test(value)) return value; // nothing to encode (ids, dates, numbers, most key segments)
  const encoded = encodeURIComponent(value);
  if (!SUB_DELIMS.test(encoded)) return encoded;
  return encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

type Pair = [name: string, value: string];

const encodedPairs = (query: Record<string, string>) => Object.entries(query).map(([name, value]): Pair => [encodeRfc3986(name), encodeRfc3986(value)]);

/** `name=value` pairs joined by '&', sorted by (encoded) name in code-unit order. */
function joinSorted(pairs: Pair[]): string {
  return pairs
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/** Canonical query string: names and values RFC 3986-encoded, sorted by encoded name. */
export function canonicalQuery(query: Record<string, string>): string {
  return joinSorted(encodedPairs(query));
}

/** Canonical headers (lower-case names in code-unit order, values trimmed, inner space runs collapsed) and their names. */
function canonicalHeaders(headers: Record<string, string>): { names: string; text: string } {
  const canonical = Object.entries(headers)
    .map(([name, value]) => [name, value.trim().replace(/\s+/g, " ")] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { names: canonical.map(([name]) => name).join(";"), text: canonical.map(([name, value]) => `${name}:${value}\n`).join("") };
}

/** `20130524T000000Z` */
export function amzDate(date: Date): string {
  const iso = date.toISOString(); // 2013-05-24T00:00:00.000Z, or with a 6-digit signed year
  if (iso.length !== 24) return iso.replace(/[-:]|\.\d{3}/g, "");
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

// As many as the account cache holds (store/cache.ts): with more active accounts than this, every URL would derive
// its key again (four HMACs and five key imports, several times the cost of the URL itself).
const MAX_CACHED_KEYS = 10_000;

/** Continues at once when `value` is plain (node:crypto), or once it resolves (Web Crypto). */
function then<T, R>(value: T | Promise<T>, next: (value: T) => R | Promise<R>): R | Promise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}

export function createPresigner<Key>(crypto: Sha256<Key>): Presigner & HeaderSigner {
  // Derived keys change once a day per secret/region/service; deriving costs four HMACs. A key being derived is
  // kept as its promise: the URLs of a batch are made without waiting for each other, and all but the first would
  // otherwise derive the same new key again.
  const signingKeys = new Map<string, Key | Promise<Key>>();
  const encoder = new TextEncoder();

  // The key used last, checked before the map: a busy server signs mostly with the same few keys.
  let last: { secret: string; day: string; region: string; service: string; key: Key } | undefined;

  async function deriveKey(secret: string, day: string, region: string, service: string): Promise<Key> {
    let raw = encoder.encode(`AWS4${secret}`);
    for (const part of [day, region, service, "aws4_request"]) {
      raw = await crypto.hmac(await crypto.importKey(raw), part);
    }
    return crypto.importKey(raw);
  }

  /** The SigV4 signing key: at once from the cache, else derived (a promise, shared while it is under way). */
  function signingKey(secret: string, day: string, region: string, service: string): Key | Promise<Key> {
    if (last && last.secret === secret && last.day === day && last.region === region && last.service === service) return last.key;
    const id = `${day}\n${region}\n${service}\n${secret}`;
    const found = signingKeys.get(id);
    if (found !== undefined) {
      if (!(found instanceof Promise)) last = { secret, day, region, service, key: found };
      return found;
    }
    if (signingKeys.size >= MAX_CACHED_KEYS) signingKeys.clear();
    const derived: Promise<Key> = deriveKey(secret, day, region, service).then(
      (key) => {
        signingKeys.set(id, key);
        return key;
      },
      (error: unknown) => {
        if (signingKeys.get(id) === derived) signingKeys.delete(id); // the next URL tries again
        throw error;
      },
    );
    signingKeys.set(id, derived);
    return derived;
  }

  /** The hex signature of a canonical request (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). */
  function signature(canonicalRequest: string, time: string, region: string, service: string, secret: string): string | Promise<string> {
    const day = time.slice(0, 8);
    return then(crypto.sha256Hex(canonicalRequest), (hash) => {
      const stringToSign = `AWS4-HMAC-SHA256\n${time}\n${day}/${region}/${service}/aws4_request\n${hash}`;
      return then(signingKey(secret, day, region, service), (key) => crypto.hmacHex(key, stringToSign));
    });
  }

  let lastDate = NaN;
  let lastTime = "";

  // The fixed parameters, in canonical (encoded-name) order; only extra ones need a sort. The same for every URL
  // of an answer and of a second with one key: the last one is kept.
  let lastQuery: { id: string; time: string; region: string; service: string; expiresIn: number; token: string | undefined; names: string | undefined; query: string } | undefined;
  function fixedQuery({ accessKeyId, sessionToken }: Credentials, time: string, region: string, service: string, expiresIn: number, names: string | undefined): string {
    const q = lastQuery;
    if (q && q.id === accessKeyId && q.time === time && q.region === region && q.service === service && q.expiresIn === expiresIn && q.token === sessionToken && q.names === names) return q.query;
    // Encoded part by part: the id, region and service are unreserved in practice, so only a check each.
    const credential = `${encodeRfc3986(accessKeyId)}%2F${time.slice(0, 8)}%2F${encodeRfc3986(region)}%2F${encodeRfc3986(service)}%2Faws4_request`;
    const query =
      `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${credential}&X-Amz-Date=${time}` +
      `&X-Amz-Expires=${encodeRfc3986(String(expiresIn))}` +
      (sessionToken ? `&X-Amz-Security-Token=${encodeRfc3986(sessionToken)}` : "") +
      `&X-Amz-SignedHeaders=${names !== undefined ? encodeRfc3986(names) : "host"}`;
    lastQuery = { id: accessKeyId, time, region, service, expiresIn, token: sessionToken, names, query };
    return query;
  }

  return {
    presign(request) {
      const { credentials, region } = request;
      const service = request.service ?? "s3";
      // The URLs of one answer (a batch, the parts of an upload) share their signing time: formatted once.
      const ms = request.date.getTime();
      if (ms !== lastDate) {
        lastDate = ms;
        lastTime = amzDate(request.date);
      }
      const time = lastTime;
      const signedHeaders = request.headers ? canonicalHeaders({ ...request.headers, host: request.host }) : undefined;
      let query = fixedQuery(credentials, time, region, service, request.expiresIn, signedHeaders?.names);
      // Encoded names and values hold no '&' or '=', so the fixed part splits back into its pairs.
      if (request.query) query = joinSorted([...query.split("&").map((pair) => pair.split("=") as Pair), ...encodedPairs(request.query)]);

      const headerLines = signedHeaders ? `${signedHeaders.text}\n${signedHeaders.names}` : `host:${request.host}\n\nhost`;
      const canonicalRequest = `${request.method}\n${request.path}\n${query}\n${headerLines}\n${request.payloadHash ?? "UNSIGNED-PAYLOAD"}`;
      return then(
        signature(canonicalRequest, time, region, service, credentials.secretAccessKey),
        (signed) => `${request.protocol}//${request.host}${request.path}?${query}&X-Amz-Signature=${signed}`,
      );
    },

    async sign(request) {
      const { credentials, region, service } = request;
      const time = amzDate(request.date);
      const headers: Record<string, string> = { ...request.headers, "x-amz-date": time };
      if (credentials.sessionToken) headers["x-amz-security-token"] = credentials.sessionToken;
      for (const name of Object.keys(headers)) {
        if (name !== name.toLowerCase() || name === "host" || name === "authorization") throw new Error(`cannot sign header ${name}`);
      }
      const { names, text } = canonicalHeaders({ ...headers, host: request.host });
      // As S3 and the AWS SDK: a given x-amz-content-sha256 (e.g. UNSIGNED-PAYLOAD) stands for the payload's hash.
      const payloadHash = headers["x-amz-content-sha256"] ?? (await crypto.sha256Hex(request.body));
      const query = request.query ? canonicalQuery(request.query) : "";
      const canonicalRequest = `${request.method}\n${request.path}\n${query}\n${text}\n${names}\n${payloadHash}`;
      const signed = await signature(canonicalRequest, time, region, service, credentials.secretAccessKey);
      const scope = `${time.slice(0, 8)}/${region}/${service}/aws4_request`;
      headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names}, Signature=${signed}`;
      return headers;
    },

    async signString(text, day, region, service, secret) {
      return crypto.hmacHex(await signingKey(secret, day, region, service), text);
    },
  };
}

/** The portable implementation: Web Crypto, available on Workers, Deno and Node. */
export function webCryptoSha256(subtle: SubtleCrypto = globalThis.crypto.subtle): Sha256<CryptoKey> {
  const encoder = new TextEncoder();
  const hmac = { name: "HMAC", hash: "SHA-256" };
  return {
    sha256Hex: async (data) => toHex(new Uint8Array(await subtle.digest("SHA-256", encoder.encode(data)))),
    importKey: (raw) => subtle.importKey("raw", raw, hmac, false, ["sign"]),
    hmac: async (key, data) => new Uint8Array(await subtle.sign("HMAC", key, encoder.encode(data))),
    hmacHex: async (key, data) => toHex(new Uint8Array(await subtle.sign("HMAC", key, encoder.encode(data)))),
  };
}
