import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // Starts one S3 server (a throw-away Ceph RADOS Gateway unless S3_ENDPOINT is set) and provides it as `s3`.
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // All e2e files share that one server (and RGW's fixed mon ports): one file at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
