// A local OpenID Connect issuer for RGW's AssumeRoleWithWebIdentity: discovery document, a JWKS with one RSA key and
// its self-signed certificate (RGW checks signatures with the x5c certificate), and RS256 JWTs.
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes, sign, X509Certificate } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

// --- a minimal DER writer, enough for one self-signed X.509 certificate --------------------------

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));
const integer = (bytes: Buffer) => der(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
const nullValue = Buffer.from([0x05, 0x00]);
const utf8 = (text: string) => der(0x0c, Buffer.from(text, "utf8"));
const bitString = (bytes: Buffer) => der(0x03, Buffer.concat([Buffer.from([0]), bytes]));
const utcTime = (date: Date) => der(0x17, Buffer.from(date.toISOString().replace(/^\d\d(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d).*$/, "$1$2$3$4$5$6Z")));
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const bytes = [a! * 40 + b!];
  for (const value of rest) {
    const chunk = [value & 0x7f];
    for (let v = value >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

function selfSignedCertificate(publicKey: KeyObject, privateKey: KeyObject, commonName: string): Buffer {
  const sha256WithRsa = seq(oid("1.2.840.113549.1.1.11"), nullValue);
  const name = seq(set(seq(oid("2.5.4.3"), utf8(commonName))));
  const now = Date.now();
  const tbs = seq(
    der(0xa0, integer(Buffer.from([2]))), // v3
    integer(randomBytes(8)),
    sha256WithRsa,
    name,
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 86400_000))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
  );
  return seq(tbs, sha256WithRsa, bitString(sign("sha256", tbs, privateKey)));
}

// --- the issuer ---------------------------------------------------------------------------------

export interface OidcIssuer {
  /** http://127.0.0.1:PORT: the `iss` of its tokens and the URL registered with IAM. */
  url: string;
  /** 127.0.0.1:PORT: how IAM names the provider (arn:aws:iam:::oidc-provider/<hostPath>) and its condition keys. */
  hostPath: string;
  /** SHA-1 of the certificate, hex, for CreateOpenIDConnectProvider's ThumbprintList. */
  thumbprint: string;
  /** An RS256 JWT; `key: "other"` signs with a key the JWKS does not hold. */
  token: (claims: Record<string, unknown>, options?: { key?: "other"; expiresIn?: number }) => string;
  close: () => Promise<void>;
}

export async function startOidcIssuer(): Promise<OidcIssuer> {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const kid = randomBytes(8).toString("hex");
  const certificate = selfSignedCertificate(publicKey, privateKey, "signpost test issuer");
  if (!new X509Certificate(certificate).verify(publicKey)) throw new Error("the test certificate does not verify");
  let url = "";
  const server = createServer((req, res) => {
    const json = (body: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.url === "/.well-known/openid-configuration") {
      return json({ issuer: url, jwks_uri: `${url}/keys`, response_types_supported: ["id_token"], subject_types_supported: ["public"], id_token_signing_alg_values_supported: ["RS256"] });
    }
    if (req.url === "/keys") {
      return json({ keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig", x5c: [certificate.toString("base64")] }] });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return {
    url,
    hostPath: `127.0.0.1:${port}`,
    thumbprint: createHash("sha1").update(certificate).digest("hex"),
    token(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const input = `${b64url({ alg: "RS256", typ: "JWT", kid })}.${b64url({ iss: url, iat: now, nbf: now - 60, exp: now + (options.expiresIn ?? 3600), ...claims })}`;
      const key = options.key === "other" ? other : createPrivateKey(privateKey.export({ type: "pkcs8", format: "pem" }));
      return `${input}.${sign("sha256", Buffer.from(input), key).toString("base64url")}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
