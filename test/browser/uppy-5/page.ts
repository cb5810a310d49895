// The page for @uppy/aws-s3 5 (with @uppy/core 5), as an app would write it: Companion's routes at `endpoint`, with
// the caller's credentials in `headers` (sent on every call). The test calls window.upload.
import AwsS3 from "@uppy/aws-s3";
import Uppy from "@uppy/core";
import { fileBytes, type TestFile, type UploadOutcome } from "../bytes.ts";

export interface Uppy5Options {
  signpost: string;
  account: string;
  bucket: string;
  token: string;
  files: TestFile[];
}

(window as unknown as { upload(options: Uppy5Options): Promise<UploadOutcome> }).upload = async (options: Uppy5Options) => {
  const uppy = new Uppy({ autoProceed: false });
  const errors: string[] = [];
  const parts: Record<string, number> = {};
  uppy.on("upload-error", (_file, error) => errors.push(error.message));
  uppy.on("s3-multipart:part-uploaded", (file) => void (parts[file.name!] = (parts[file.name!] ?? 0) + 1));
  uppy.use(AwsS3, {
    endpoint: `${options.signpost}/companion/${options.account}/${options.bucket}`,
    headers: { authorization: `Bearer ${options.token}` },
    shouldUseMultipart: (file) => (file.size ?? 0) > 5 * 2 ** 20,
  });
  for (const file of options.files) uppy.addFile({ name: file.name, type: file.type, data: new Blob([fileBytes(file.size, file.seed)], { type: file.type }) });
  const result = await uppy.upload();
  return {
    successful: (result?.successful ?? []).map((file) => ({ name: file.name!, key: (file.response?.body as { key?: string } | undefined)?.key ?? "", location: file.response?.uploadURL })),
    failed: (result?.failed ?? []).map((file) => ({ name: file.name!, error: String(file.error) })),
    errors,
    parts,
  };
};
