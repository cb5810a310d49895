// Every HTTP call signpost makes itself (S3, STS, the credential endpoints) goes through here: a deadline for the
// whole exchange, no redirects followed (a 3xx is an answer like any other, never a hop to wherever it points,
// with our signature or session token), and a byte limit counted while the body streams in.
import { readAtMost } from "../http/stream.ts";
import { canonicalQuery, type Credentials, type HeaderSigner } from "./signer.ts";
import { declaresDtd, errorText } from "./xml.ts";

export interface OutboundAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export interface OutboundRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | FormData;
  timeoutMs: number;
  /** The most bytes the answer's body may have; a longer one is cut off and the call fails. */
  maxBytes: number;
}

/** The error a too-long answer raises; its message names the limit, never the content. */
export class AnswerTooLarge extends Error {
  constructor(maxBytes: number) {
    super(`the answer is larger than ${maxBytes} bytes`);
    this.name = "AnswerTooLarge";
  }
}

/** An answer signpost will not read: it declares a DTD (entities, external references). */
export class UnsafeAnswer extends Error {
  constructor() {
    super("the answer declares a DTD");
    this.name = "UnsafeAnswer";
  }
}

/** The body as text, read chunk by chunk and abandoned as soon as it passes `maxBytes`. */
export async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? 0);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new AnswerTooLarge(maxBytes);
  }
  const bytes = await readAtMost(response.body, maxBytes);
  if (bytes === null) throw new AnswerTooLarge(maxBytes);
  return new TextDecoder().decode(bytes);
}

/** One exchange: rejects on network errors, the deadline and too-long answers; resolves with any status, 3xx included. */
export async function fetchOutbound(fetcher: typeof fetch, url: string, request: OutboundRequest): Promise<OutboundAnswer> {
  const response = await fetcher(url, {
    method: request.method ?? "GET",
    headers: request.headers ?? {},
    ...(request.body !== undefined ? { body: request.body } : {}),
    redirect: "manual",
    signal: AbortSignal.timeout(request.timeoutMs),
  });
  return { status: response.status, headers: response.headers, text: await readCapped(response, request.maxBytes) };
}

/** True for the statuses a redirect comes with (and 300, which some servers send with a Location too). */
export const isRedirect = (status: number) => status >= 300 && status < 400;

/** Waits, e.g. between retries. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// As the SDKs' standard retry strategy: these error codes are worth another try.
const RETRYABLE_CODES = /^(Throttling|ThrottlingException|RequestLimitExceeded|IDPCommunicationError|ServiceUnavailable|InternalFailure|SlowDown|RequestTimeout)$/;

export interface AwsRequest {
  method: string;
  /** Where: the origin and path, already encoded; `query` is signed and appended in canonical order. */
  url: URL;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  /** SigV4 header signing with these credentials (a fresh date on each attempt); unsigned when absent. */
  sign?: { signer: HeaderSigner; credentials: Credentials; region: string; service: string; unsignedPayload?: boolean };
  timeoutMs: number;
  maxBytes: number;
  /** Attempts for network errors, 5xx, 429 and throttling codes (with jittered backoff); default 1. */
  attempts?: number;
}

/**
 * One call to an AWS API (S3's REST API, STS's query API): signed, sent through fetchOutbound (no redirect
 * followed, a deadline, a byte cap), an answer that declares a DTD refused. Resolves with the last answer (any
 * status, 3xx included: the caller says what it means), or rejects with the last network error.
 */
export async function awsCall(deps: { fetch?: typeof fetch; now: () => number }, request: AwsRequest): Promise<OutboundAnswer> {
  const query = request.query ? canonicalQuery(request.query) : "";
  const href = `${request.url.origin}${request.url.pathname}${query ? `?${query}` : ""}`;
  const attempts = request.attempts ?? 1;
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await sleep(100 * 2 ** (attempt - 2) * (1 + Math.random()));
    let headers = request.headers ?? {};
    if (request.sign) {
      const { signer, credentials, region, service, unsignedPayload } = request.sign;
      headers = await signer.sign({
        method: request.method, host: request.url.host, path: request.url.pathname, ...(request.query ? { query: request.query } : {}),
        headers: unsignedPayload ? { ...headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } : headers,
        body: request.body ?? "", region, service, credentials, date: new Date(deps.now()),
      });
    }
    let answer: OutboundAnswer;
    try {
      answer = await fetchOutbound(deps.fetch ?? fetch, href, { method: request.method, headers, ...(request.body ? { body: request.body } : {}), timeoutMs: request.timeoutMs, maxBytes: request.maxBytes });
    } catch (error) {
      if (attempt < attempts) continue;
      throw error;
    }
    if (declaresDtd(answer.text)) throw new UnsafeAnswer();
    const retryable = answer.status >= 500 || answer.status === 429 || RETRYABLE_CODES.test(errorText(answer.text).code);
    if (!retryable || attempt >= attempts) return answer;
  }
}
