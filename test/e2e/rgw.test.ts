import { AwsClient } from 'aws4fetch';
import { describe, expect, inject, it } from 'vitest';
import './s3-target.ts';

const s3 = inject('s3');
const signer = (secretAccessKey: string) =>
  new AwsClient({ accessKeyId: s3.accessKeyId, secretAccessKey, service: 's3', region: s3.region, retries: 0 });

describe('S3 test server', () => {
  const url = `${s3.endpoint}/${s3.bucket}/proof/${Date.now()}-héllo wörld.txt`;

  it('stores and returns an object', async () => {
    const body = `hello from signpost ${Math.random()}`;
    const put = await signer(s3.secretAccessKey).fetch(url, { method: 'PUT', body });
    expect(put.status).toBe(200);
    const get = await signer(s3.secretAccessKey).fetch(url);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe(body);
  });

  it('rejects a request signed with a wrong secret', async () => {
    const res = await signer(`${s3.secretAccessKey}x`).fetch(url);
    expect(res.status).toBe(403);
    // RGW answers AccessDenied here (with STS enabled, failed signatures fall through to the STS engine);
    // AWS and MinIO answer SignatureDoesNotMatch.
    expect(await res.text()).toMatch(/<Code>(SignatureDoesNotMatch|AccessDenied)<\/Code>/);
  });
});
