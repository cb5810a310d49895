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
