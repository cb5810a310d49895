// An independent check of a presigned S3 URL: @smithy/signature-v4 signs the same request again with the
// credentials we believe signed it; the two URLs' signatures must match.
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";

export interface KnownCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** `headers`: the headers the URL was signed with besides host (lower-case names), which stay headers (never hoisted). */
export async function expectedSignature(url: string, method: string, credentials: KnownCredentials, headers: Record<string, string> = {}): Promise<string> {
  const parsed = new URL(url);
  const params = Object.fromEntries(parsed.searchParams);
  const [accessKeyId, day, region, service] = (params["X-Amz-Credential"] ?? "").split("/");
  if (accessKeyId !== credentials.accessKeyId) throw new Error(`signed by ${accessKeyId}, not ${credentials.accessKeyId}`);
  if ((params["X-Amz-Security-Token"] ?? undefined) !== credentials.sessionToken) throw new Error("session token differs");
  const time = params["X-Amz-Date"]!;
  if (!time.startsWith(day!)) throw new Error("X-Amz-Date and the credential scope disagree");
  const signer = new SignatureV4({
    service: service!,
    region: region!,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}) },
    sha256: Hash.bind(null, "sha256"),
    uriEscapePath: false,
  });
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) if (!name.startsWith("X-Amz-")) query[name] = value;
  const presigned = await signer.presign(
    {
      method,
      protocol: parsed.protocol,
      hostname: parsed.hostname,
      ...(parsed.port ? { port: Number(parsed.port) } : {}),
      path: parsed.pathname,
      headers: { ...headers, host: parsed.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      query,
    } as any,
    {
      signingDate: new Date(time.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z")),
      expiresIn: Number(params["X-Amz-Expires"]),
      unhoistableHeaders: new Set(["x-amz-content-sha256", ...Object.keys(headers)]),
      unsignableHeaders: new Set(["x-amz-content-sha256"]),
    },
  );
  return String((presigned.query as Record<string, string>)["X-Amz-Signature"]);
}

/** True when `url` carries the signature smithy computes for it with `credentials` (and the signed `headers`). */
export async function signedBy(url: string, method: string, credentials: KnownCredentials, headers: Record<string, string> = {}): Promise<boolean> {
  return new URL(url).searchParams.get("X-Amz-Signature") === (await expectedSignature(url, method, credentials, headers));
}
