// Comparing and hashing secrets.
import { toHex } from "./encoding.ts";

/** Compares in time that depends only on the expected value's length, never on where they differ. */
export function constantTimeEqual(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    diff |= (given.charCodeAt(i) | 0) ^ expected.charCodeAt(i); // NaN|0 is 0 past the end of `given`
  }
  return diff === 0;
}

/** SHA-256 of the UTF-8 text, lower-case hex (Web Crypto: the same on every runtime). */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}
