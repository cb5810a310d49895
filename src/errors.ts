// The one error type: anything thrown as HttpError reaches the client as a FHIR OperationOutcome.

/** FHIR IssueType codes (https://hl7.org/fhir/valueset-issue-type.html) by HTTP status. */
const issueCodes: Record<number, string> = {
  400: "invalid",
  401: "login",
  403: "forbidden",
  404: "not-found",
  405: "not-supported",
  406: "not-supported",
  413: "too-long",
  415: "not-supported",
  500: "exception",
  503: "transient",
};

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export interface OperationOutcome {
  resourceType: "OperationOutcome";
  issue: { severity: "error"; code: string; diagnostics: string }[];
}

export function operationOutcome(status: number, message: string): OperationOutcome {
  return {
    resourceType: "OperationOutcome",
    issue: [{ severity: "error", code: issueCodes[status] ?? "exception", diagnostics: message }],
  };
}

// Network failures in words, by the codes Node (undici) gives them and the messages Deno and workerd use.
const NETWORK_CAUSES: [RegExp, string][] = [
  [/ECONNREFUSED|connection refused/i, "connection refused"],
  [/ENOTFOUND|EAI_AGAIN|EAI_NONAME|dns error|failed to lookup|name or service not known|no such host/i, "DNS: no such host"],
  [/ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|timed out/i, "timed out"],
  [/ECONNRESET|UND_ERR_SOCKET|connection reset|connection closed|network connection lost/i, "connection reset"],
  [/EHOSTUNREACH|ENETUNREACH|unreachable/i, "host unreachable"],
  [/CERT|TLS|SSL|certificate|handshake|corrupt message/i, "TLS"],
];

/** A short, secret-free description of a thrown value: a code or class and the first line of the message. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === "TimeoutError") return "timed out";
    if (error.name === "AbortError") return "aborted";
    const code = (error as { code?: unknown }).code;
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const detail =
      typeof code === "string" ? code
      : typeof cause?.code === "string" ? cause.code
      : typeof cause?.message === "string" ? cause.message.split("\n")[0]
      : error.message.split("\n")[0];
    const network = detail ? NETWORK_CAUSES.find(([pattern]) => pattern.test(detail))?.[1] : undefined;
    // "connection refused (ECONNREFUSED)", "TLS (CERT_HAS_EXPIRED)"; a long message (Deno's) is left at the words.
    if (network && detail) return detail.length > 40 || detail === network ? network : `${network} (${detail})`;
    return detail ? `${error.name === "Error" ? "" : `${error.name}: `}${detail}`.slice(0, 200) : error.name;
  }
  return typeof error;
}
