// A local OpenID Connect provider for end-user tokens, as apps' identity providers behave: a discovery document, a
// JWKS with RS256, PS256, ES256, ES384 and EdDSA keys, key rotation (publish a new kid, withdraw an old one), and
// tokens signed with jose (independent of the hono code signpost verifies with). It counts the fetches it answers
// and can misbehave on demand: 500s, slow answers, redirects, huge or non-JSON bodies.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

export type Alg = "RS256" | "PS256" | "ES256" | "ES384" | "EdDSA";
export type IssuerFault = "none" | "500" | "slow" | "redirect" | "huge" | "not-json" | "other-issuer";

interface Key {
  kid: string;
  alg: Alg;
  privateKey: CryptoKey;
  jwk: JWK;
}

export interface TokenIssuer {
  /** http://127.0.0.1:PORT: the `iss` of its tokens. */
  url: string;
  jwksUri: string;
  /** A new key of `alg`, published unless `publish: false`; returns its kid. */
  addKey(alg: Alg, options?: { publish?: boolean; kid?: string }): Promise<string>;
  /** The public JWK of a key (as the JWKS shows it). */
  jwk(kid: string): JWK;
  /** Publishes exactly these kids. */
  publish(kids: string[]): void;
  /** A token signed with `kid` (default: the first key). `header` adds to or replaces the protected header. */
  token(claims: Record<string, unknown>, options?: { kid?: string; header?: Record<string, unknown>; now?: number; omit?: string[] }): Promise<string>;
  fault: IssuerFault;
  delayMs: number;
  fetches: { discovery: number; jwks: number };
  close(): Promise<void>;
}

export async function startTokenIssuer(): Promise<TokenIssuer> {
  const keys = new Map<string, Key>();
  let published: string[] = [];
  let url = "";
  const fetches = { discovery: 0, jwks: 0 };
  const state = { fault: "none" as IssuerFault, delayMs: 0 };

  const server = createServer(async (req, res) => {
    const path = req.url ?? "";
    if (path === "/.well-known/openid-configuration") fetches.discovery++;
    else if (path === "/jwks") fetches.jwks++;
    else return res.writeHead(404).end();
    if (state.delayMs) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
    if (res.destroyed) return;
    const fault = state.fault;
    if (fault === "500") return res.writeHead(500).end("down");
    if (fault === "redirect") return res.writeHead(302, { location: `${url}${path}` }).end();
    if (fault === "not-json") return res.writeHead(200, { "content-type": "application/json" }).end("<html>");
    if (fault === "huge") {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      for (let i = 0; i < 64 && !res.destroyed; i++) if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
      return res.end();
    }
    const body = path === "/jwks"
      ? { keys: published.map((kid) => keys.get(kid)!.jwk) }
      : { issuer: fault === "other-issuer" ? `${url}/other` : url, jwks_uri: `${url}/jwks`, id_token_signing_alg_values_supported: ["RS256", "ES256"] };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const issuer: TokenIssuer = {
    url,
    jwksUri: `${url}/jwks`,
    async addKey(alg, options = {}) {
      const kid = options.kid ?? `${alg.toLowerCase()}-${keys.size + 1}`;
      const { privateKey, publicKey } = await generateKeyPair(alg, alg === "EdDSA" ? { crv: "Ed25519" } : {});
      keys.set(kid, { kid, alg, privateKey: privateKey as CryptoKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } });
      if (options.publish !== false) published.push(kid);
      return kid;
    },
    jwk: (kid) => keys.get(kid)!.jwk,
    publish(kids) {
      published = [...kids];
    },
    async token(claims, options = {}) {
      const key = options.kid ? keys.get(options.kid)! : keys.values().next().value!;
      const now = Math.floor((options.now ?? Date.now()) / 1000);
      const payload: Record<string, unknown> = { iss: url, sub: "alice", iat: now, exp: now + 600, ...claims };
      for (const name of options.omit ?? []) delete payload[name];
      return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT", ...options.header } as never).sign(key.privateKey);
    },
    get fault() {
      return state.fault;
    },
    set fault(value) {
      state.fault = value;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value) {
      state.delayMs = value;
    },
    fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return issuer;
}
