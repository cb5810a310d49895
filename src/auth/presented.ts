// What an Authorization header presents: a bearer token, or HTTP Basic `user:secret` (as Aidbox clients send it).
import { clientIdOf } from "../domain/client.ts";

/** A bearer token (from the Authorization header, or `via` a cookie), or HTTP Basic. */
export type Presented = { scheme: "bearer"; token: string; via?: { cookie: string } } | { scheme: "basic"; user: string; secret: string };

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;
const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/** The credentials in the header; undefined when there is none or it cannot be read. */
export function presented(authorization: string | null): Presented | undefined {
  if (!authorization) return undefined;
  const bearer = BEARER.exec(authorization);
  if (bearer) return { scheme: "bearer", token: bearer[1]! };
  const basic = BASIC.exec(authorization);
  if (!basic) return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(basic[1]!), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : { scheme: "basic", user: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** The first of `names` that the Cookie header holds, with its value (quotes taken off), or undefined. */
export function tokenFromCookie(header: string, names: string[]): { cookie: string; token: string } | undefined {
  if (names.length === 0) return undefined;
  for (const pair of header.split(";")) {
    const at = pair.indexOf("=");
    const cookie = pair.slice(0, at).trim();
    if (at < 0 || !names.includes(cookie)) continue;
    const token = pair.slice(at + 1).trim().replace(/^"(.*)"$/, "$1");
    if (token) return { cookie, token };
  }
  return undefined;
}

/** Who the credentials claim to be, for the log of a refused request: never the secret. */
export function presentedIdentity(authorization: string | null): string | undefined {
  const credentials = presented(authorization);
  if (!credentials) return authorization ? "malformed" : undefined;
  const id = credentials.scheme === "basic" ? credentials.user : clientIdOf(credentials.token);
  return id === undefined ? "a bearer token" : `Client/${id.slice(0, 64).replace(/[^\w.@-]/g, "_")}`;
}
