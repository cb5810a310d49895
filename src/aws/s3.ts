// The S3 REST calls signpost makes itself (multipart create, list, complete and abort; the back-end checks), through
// client.ts's awsCall: signed, no redirects followed, a deadline, a byte limit per call.
import { describeError, HttpError } from "../errors.ts";
import { AnswerTooLarge, awsCall, isRedirect, type OutboundAnswer, UnsafeAnswer } from "./client.ts";
import { objectLocation, type Endpoint } from "./s3url.ts";
import type { Credentials, HeaderSigner } from "./signer.ts";
import { errorText, leaf } from "./xml.ts";

export const S3_TIMEOUT_MS = 15_000;
/** Enough for any error document and the small answers of create, complete and abort. */
export const SMALL_ANSWER = 64 * 1024;

export interface S3Request {
  account: Endpoint;
  credentials: Credentials;
  /** The S3 action, for messages: "CreateMultipartUpload". */
  what: string;
  method: string;
  bucket: string;
  /** "" for a request on the bucket itself. */
  key: string;
  query: Record<string, string>;
  body?: string;
  headers?: Record<string, string>;
  /** Default SMALL_ANSWER. */
  maxBytes?: number;
}

export interface UploadedPart {
  "part-number": number;
  etag: string;
  size: number;
}

export function s3Client(deps: { signer: HeaderSigner; fetch?: typeof fetch; now: () => number }) {
  /** One signed call; resolves with any status but a redirect, which is refused like a network failure (502). */
  async function send(request: S3Request): Promise<OutboundAnswer> {
    const { protocol, host, path } = objectLocation(request.account, request.bucket, request.key);
    let answer: OutboundAnswer;
    try {
      answer = await awsCall(deps, {
        method: request.method, url: new URL(`${protocol}//${host}${path}`), query: request.query,
        ...(request.headers ? { headers: request.headers } : {}), ...(request.body ? { body: request.body } : {}),
        sign: { signer: deps.signer, credentials: request.credentials, region: request.account.region, service: "s3", unsignedPayload: true },
        timeoutMs: S3_TIMEOUT_MS, maxBytes: request.maxBytes ?? SMALL_ANSWER,
      });
    } catch (error) {
      const reason = error instanceof UnsafeAnswer || error instanceof AnswerTooLarge ? `${host}: ${error.message}` : `could not reach ${host} (${describeError(error)})`;
      throw new HttpError(502, `S3 ${request.what}: ${reason}`);
    }
    if (isRedirect(answer.status)) {
      throw new HttpError(502, `S3 ${request.what}: ${host} answered HTTP ${answer.status} (a redirect, which signpost does not follow: check the account's host, region and path-style)`);
    }
    return answer;
  }

  /** send, with S3's refusals as errors: 404, 400 and 412 pass through, anything else is 502. Resolves with the XML. */
  async function call(request: S3Request): Promise<string> {
    const { status, text } = await send(request);
    // CompleteMultipartUpload may fail after its 200 status line: the body is then an <Error>.
    if (status >= 200 && status < 300 && !/^(<\?xml[^>]*\?>)?\s*<Error>/.test(text)) return text;
    const reason = errorText(text).text;
    throw new HttpError(status === 404 || status === 400 || status === 412 ? status : 502, `S3 ${request.what}: HTTP ${status}${reason ? ` ${reason}` : ""}`);
  }

  /** Every uploaded part of a multipart upload (ListParts, 1000 per page, at most 10 pages). */
  async function listParts(request: Pick<S3Request, "account" | "credentials" | "bucket" | "key">, uploadId: string): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker = "";
    for (let page = 0; page < 10; page++) {
      const query: Record<string, string> = marker ? { uploadId, "part-number-marker": marker } : { uploadId };
      const xml = await call({ ...request, what: "ListParts", method: "GET", query, maxBytes: 1024 * 1024 });
      for (const [part] of xml.matchAll(/<Part>[\s\S]*?<\/Part>/g)) {
        const n = Number(leaf(part, "PartNumber"));
        const etag = leaf(part, "ETag");
        if (!Number.isInteger(n) || !etag) throw new HttpError(502, "S3 ListParts: a part lacks PartNumber or ETag");
        parts.push({ "part-number": n, etag, size: Number(leaf(part, "Size")) });
      }
      marker = leaf(xml, "NextPartNumberMarker") ?? "";
      if (leaf(xml, "IsTruncated") !== "true" || !marker) break;
    }
    return parts;
  }

  return { send, call, listParts };
}

export type S3Client = ReturnType<typeof s3Client>;
