// Where objects live: path style where a bucket cannot be a subdomain, and the AWS partitions' endpoints.
import { describe, expect, it } from "vitest";
import { stsEndpoint } from "../../../src/aws/sts.ts";
import { objectLocation } from "../../../src/aws/s3url.ts";

describe("hosts that only work path style", () => {
  it.each([
    ["127.0.0.1:9000", "http://127.0.0.1:9000/bucket/k"],
    ["[::1]:9000", "http://[::1]:9000/bucket/k"],
    ["localhost:9000", "http://localhost:9000/bucket/k"],
    ["minio:9000", "http://minio:9000/bucket/k"],
    ["s3.example.com", "http://bucket.s3.example.com/k"],
  ])("%s without path-style gives %s", (host, expected) => {
    const { protocol, host: urlHost, path } = objectLocation({ region: "us-east-1", host, "path-style": false, "use-ssl": false }, "bucket", "k");
    expect(`${protocol}//${urlHost}${path}`).toBe(expected);
  });
});

describe("AWS partitions", () => {
  it.each([
    ["cn-north-1", "bucket.s3.cn-north-1.amazonaws.com.cn", "https://sts.cn-north-1.amazonaws.com.cn/"],
    ["cn-northwest-1", "bucket.s3.cn-northwest-1.amazonaws.com.cn", "https://sts.cn-northwest-1.amazonaws.com.cn/"],
    ["us-gov-west-1", "bucket.s3.us-gov-west-1.amazonaws.com", "https://sts.us-gov-west-1.amazonaws.com/"],
    ["us-iso-east-1", "bucket.s3.us-iso-east-1.c2s.ic.gov", "https://sts.us-iso-east-1.c2s.ic.gov/"],
    ["us-isob-east-1", "bucket.s3.us-isob-east-1.sc2s.sgov.gov", "https://sts.us-isob-east-1.sc2s.sgov.gov/"],
    ["eu-west-1", "bucket.s3.eu-west-1.amazonaws.com", "https://sts.eu-west-1.amazonaws.com/"],
  ])("%s: S3 at %s, STS at %s", (region, s3Host, sts) => {
    expect(objectLocation({ region, "path-style": false, "use-ssl": true }, "bucket", "k").host).toBe(s3Host);
    const endpoint = stsEndpoint({}, region);
    expect(typeof endpoint === "string" ? endpoint : endpoint.url.href).toBe(sts);
  });
});
