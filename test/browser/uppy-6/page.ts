// The page for @uppy/aws-s3 6 (with @uppy/core 6), as an app would write it: `signRequest` through signpost's $sign
// (the README's adapter), or `companionEndpoint` at signpost's Companion routes. The test calls window.upload.
import AwsS3 from "@uppy/aws-s3";
import Uppy from "@uppy/core";
import { fileBytes, type TestFile, type UploadOutcome } from "../bytes.ts";

export interface Uppy6Options {
  mode: "sign" | "companion";
  /** signpost's origin (the page's own for the Companion routes on the same site). */
  signpost: string;
  account: string;
  bucket: string;
  /** The Bearer token for $sign. */
  token?: string;
  /** Every key Uppy asks for (its generateObjectKey); default Uppy's own, <uuid>-<name>. */
  key?: string;
  files: TestFile[];
}

(window as unknown as { upload(options: Uppy6Options): Promise<UploadOutcome> }).upload = async (options: Uppy6Options) => {
  const { signpost: SIGNPOST, account, bucket, token: accessToken } = options;
  const uppy = new Uppy({ autoProceed: false });
  const errors: string[] = [];
  const parts: Record<string, number> = {};
  uppy.on("upload-error", (_file, error) => errors.push(error.message));
  uppy.on("s3-multipart:part-uploaded", (file) => void (parts[file.name!] = (parts[file.name!] ?? 0) + 1));
  const shouldUseMultipart = (file: { size: number | null }) => (file.size ?? 0) > 5 * 2 ** 20;
  if (options.mode === "sign") {
    uppy.use(AwsS3, {
      shouldUseMultipart,
      ...(options.key ? { generateObjectKey: () => options.key! } : {}),
      // As in the README (section Uppy):
      async signRequest(request) {
        const answer = await fetch(`${SIGNPOST}/aws/storage/${account}/${bucket}/$sign`, {
          method: "POST",
          headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
          body: JSON.stringify(request),
        });
        const body = await answer.json();
        if (!answer.ok) throw new Error(body.issue?.[0]?.diagnostics ?? `signpost answered ${answer.status}`);
        return body; // { url, key? }
      },
    });
  } else {
    uppy.use(AwsS3, { shouldUseMultipart, companionEndpoint: `${SIGNPOST}/companion/${account}/${bucket}` });
  }
  for (const file of options.files) uppy.addFile({ name: file.name, type: file.type, data: new Blob([fileBytes(file.size, file.seed)], { type: file.type }) });
  const result = await uppy.upload();
  return {
    successful: (result?.successful ?? []).map((file) => ({ name: file.name!, key: (file.response?.body as { key?: string } | undefined)?.key ?? "", location: file.response?.uploadURL })),
    failed: (result?.failed ?? []).map((file) => ({ name: file.name!, error: String(file.error) })),
    errors,
    parts,
  };
};
