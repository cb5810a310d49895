// Every HTTP call signpost makes itself (S3, STS, the credential endpoints) goes through here: a deadline for the
// whole exchange, no redirects followed (a 3xx is an answer like any other, never a hop to wherever it points,
// with our signature or session token), and a byte limit counted while the body streams in.
import { readAtMost } from "./bytes.ts";

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
