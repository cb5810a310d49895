// The shape checks every body shares: an object, only known fields, the resource header, whole numbers in a range.
// Each failure is a 400 whose message names the field and what it takes, prefixed with what was being read.
import { HttpError } from "../errors.ts";

/** A thrower of 400s about `what` (the resource type, or "" for request bodies that are not resources). */
export const invalidFor = (what: string) => (message: string): never => {
  throw new HttpError(400, what ? `${what}: ${message}` : message);
};

function invalid(what: string, message: string): never {
  return invalidFor(what)(message);
}

/** The body as an object with no fields but `allowed` (any, when omitted). */
export function objectFields(body: unknown, what: string, allowed?: ReadonlySet<string> | readonly string[]): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) invalid(what, "the body must be an object");
  if (allowed) {
    const known = allowed instanceof Set ? allowed : new Set(allowed);
    const unknown = Object.keys(body).filter((name) => !known.has(name));
    if (unknown.length > 0) invalid(what, `unknown field${unknown.length > 1 ? "s" : ""}: ${unknown.slice(0, 5).map((name) => JSON.stringify(name)).join(", ")}; only ${[...known].join(", ")} are accepted`);
  }
  return body as Record<string, unknown>;
}

/** `resourceType` and `id`, when sent, must be this resource's. */
export function resourceHeader(record: Record<string, unknown>, resourceType: string, id: string): void {
  if (record.resourceType !== undefined && record.resourceType !== resourceType) invalid(resourceType, `resourceType must be ${resourceType}`);
  if (record.id !== undefined && record.id !== id) invalid(resourceType, "id in the body must match the id in the URL");
  if (record.meta !== undefined && (typeof record.meta !== "object" || record.meta === null || Array.isArray(record.meta))) invalid(resourceType, "meta must be an object");
}

/** A whole number from `min` to `max`, or undefined when absent. */
export function wholeNumber(value: unknown, what: string, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) invalid(what, `${name} must be a whole number from ${min} to ${max}`);
  return value;
}
