/**
 * The S3 server the e2e tests run against, provided by test/e2e/global-setup.ts.
 * In a test: `import { inject } from 'vitest'; const s3 = inject('s3')`.
 * Requests are path-style: `${endpoint}/${bucket}/${key}`.
 */
export interface S3Target {
  /** e.g. http://127.0.0.1:7480 (no trailing slash) */
  endpoint: string;
  /** host:port of the endpoint, e.g. 127.0.0.1:7480 */
  host: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** an existing bucket the tests may use freely */
  bucket: string;
  /**
   * Only when the setup started a Ceph RADOS Gateway: its state folder, for admin commands such as
   * `radosgw-admin -c ${rgwDir}/ceph.conf ...`. The RGW has STS enabled and a role
   * `arn:aws:iam:::role/S3Access` (s3:*) that user `test` (these keys) may assume.
   */
  rgwDir?: string;
  /**
   * A role the keys may assume through STS on the same endpoint, whose sessions take inline session policies: the
   * setup's RGW has `arn:aws:iam:::role/S3Access`; for another server, S3_ROLE_ARN. Undefined: none known.
   */
  roleArn?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3Target;
  }
}
