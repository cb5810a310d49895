// The test files' bytes, made the same way in the page and in the test: a file's content from its size and a seed
// (xorshift32), so that the browser need not be sent 12 MiB and the test knows what S3 must hold.
export function fileBytes(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** A file Uppy is given to upload. */
export interface TestFile {
  name: string;
  type: string;
  size: number;
  seed: number;
}

/** What a page answers: each file's outcome as Uppy reported it. */
export interface UploadOutcome {
  successful: { name: string; key: string; location: string | undefined }[];
  failed: { name: string; error: string }[];
  /** The messages of Uppy's upload-error events. */
  errors: string[];
  /** s3-multipart:part-uploaded events, per file name. */
  parts: Record<string, number>;
}
