// A SigV4 POST policy (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html): the
// fields of a browser form upload, whose conditions S3 enforces: every field the form may carry is named there.
import { toBase64 } from "../crypto/encoding.ts";
import { objectLocation, type Endpoint } from "./s3url.ts";
import { amzDate, type Credentials, type HeaderSigner } from "./signer.ts";

export interface FormRequest {
  account: Endpoint;
  bucket: string;
  /** Exactly this key, or (`prefix`) any key starting with it; the form's key field is then `<prefix>${filename}`. */
  key: string;
  prefix?: boolean;
  contentType?: string;
  /** content-length-range, in bytes. */
  size?: { min: number; max: number };
  /** More fields the form must carry exactly as given (x-amz-meta-*). */
  fields?: Record<string, string>;
  credentials: Credentials;
  date: Date;
  expiresIn: number;
}

/** The form's action URL and its fields (the file goes last, after them). */
export async function postPolicy(signer: HeaderSigner, request: FormRequest): Promise<{ url: string; fields: Record<string, string> }> {
  const { account, bucket, key, credentials, date } = request;
  const time = amzDate(date);
  // As @aws-sdk/s3-presigned-post: every field but the policy and signature is also an exact-match condition.
  const fields: Record<string, string> = {
    bucket,
    ...(request.contentType ? { "Content-Type": request.contentType } : {}),
    ...request.fields,
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": `${credentials.accessKeyId}/${time.slice(0, 8)}/${account.region}/s3/aws4_request`,
    "X-Amz-Date": time,
    ...(credentials.sessionToken ? { "X-Amz-Security-Token": credentials.sessionToken } : {}),
  };
  const conditions: unknown[] = Object.entries(fields).map(([name, value]) => ({ [name]: value }));
  conditions.push(request.prefix ? ["starts-with", "$key", key] : { key });
  if (request.size) conditions.push(["content-length-range", request.size.min, request.size.max]);
  const json = JSON.stringify({ expiration: new Date(date.getTime() + request.expiresIn * 1000).toISOString(), conditions });
  const policy = toBase64(new TextEncoder().encode(json));
  // S3 puts the uploaded file's name in place of ${filename}.
  fields.key = request.prefix ? `${key}\${filename}` : key;
  fields.Policy = policy;
  fields["X-Amz-Signature"] = await signer.signString(policy, time.slice(0, 8), account.region, "s3", credentials.secretAccessKey);
  const { protocol, host, path } = objectLocation(account, bucket, "");
  return { url: `${protocol}//${host}${path === "/" ? path : path.slice(0, -1)}`, fields };
}
