/**
 * Vitest globalSetup of the e2e project: provides `s3` (an S3Target) to the tests.
 *
 * - S3_ENDPOINT set (e.g. MinIO on http://127.0.0.1:9000): use it with S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY,
 *   S3_REGION (default us-east-1), S3_BUCKET (default: a fresh bucket signpost-e2e-<random>, deleted afterwards) and
 *   S3_ROLE_ARN (optional: a role those keys may assume on the same endpoint, for the multi-tenant tests).
 * - Otherwise: start a throw-away Ceph RADOS Gateway with test/rgw/rgw.sh on a free port (installed with apt-get
 *   first when missing and running as root), and stop it afterwards.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AwsClient } from 'aws4fetch';
import type { TestProject } from 'vitest/node';
import type { S3Target } from './s3-target.ts';

const RGW_SH = fileURLToPath(new URL('../rgw/rgw.sh', import.meta.url));
const APT_PACKAGES = ['radosgw', 'ceph-mon', 'ceph-osd', 'uuid-runtime', 'curl'];
const APT_INSTALL = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${APT_PACKAGES.join(' ')}`;

function log(line: string): void {
  console.log(`[e2e setup] ${line}`);
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: env ?? process.env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const out = `${stdout}${stderr}`.trim().split('\n').slice(-60).join('\n');
        reject(new Error(`${cmd} ${args.join(' ')} failed (${err.code ?? err.signal}):\n${out}`));
      } else resolve(stdout);
    });
  });
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function ensureRadosgw(): Promise<void> {
  if (onPath('radosgw')) return;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !onPath('apt-get')) {
    throw new Error(
      `radosgw (Ceph RADOS Gateway) is not installed: run as root \`${APT_INSTALL}\`, ` +
        'or point the e2e tests at an S3 server with S3_ENDPOINT, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY',
    );
  }
  log(`radosgw missing: installing ${APT_PACKAGES.join(' ')} with apt-get (about a minute)`);
  await run('apt-get', ['update']);
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...APT_PACKAGES], {
    ...process.env,
    DEBIAN_FRONTEND: 'noninteractive',
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const alnum = (n: number) =>
  randomBytes(n * 2)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, n);

function client(t: S3Target, secretAccessKey = t.secretAccessKey): AwsClient {
  // aws4fetch sends x-amz-content-sha256: UNSIGNED-PAYLOAD for service s3, which RGW and MinIO accept.
  return new AwsClient({ accessKeyId: t.accessKeyId, secretAccessKey, service: 's3', region: t.region, retries: 2 });
}

async function bucketExists(t: S3Target): Promise<boolean> {
  const res = await client(t).fetch(`${t.endpoint}/${t.bucket}`, { method: 'HEAD' });
  if (res.status === 404) return false;
  if (res.ok) return true;
  throw new Error(`HEAD ${t.endpoint}/${t.bucket}: ${res.status} ${res.statusText}`);
}

async function createBucket(t: S3Target): Promise<void> {
  const res = await client(t).fetch(`${t.endpoint}/${t.bucket}`, { method: 'PUT' });
  if (!res.ok) throw new Error(`creating bucket ${t.bucket} at ${t.endpoint}: ${res.status} ${await res.text()}`);
  if (!(await bucketExists(t))) throw new Error(`bucket ${t.bucket} was created but HEAD does not find it`);
}

const xmlText = (s: string) =>
  s.replace(/&(lt|gt|quot|apos|amp|#x?[0-9a-fA-F]+);/g, (m, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'" : e === 'amp' ? '&'
      : String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)),
  );
const encodeKey = (key: string) =>
  key.split('/').map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');

/** Best effort: empty and delete a bucket we created on a foreign S3 server. */
async function deleteBucket(t: S3Target): Promise<void> {
  const c = client(t);
  try {
    for (let round = 0; round < 100; round++) {
      const list = await c.fetch(`${t.endpoint}/${t.bucket}?list-type=2&max-keys=1000`);
      const keys = [...(await list.text()).matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => xmlText(m[1] ?? ''));
      if (keys.length === 0) break;
      for (const key of keys) await c.fetch(`${t.endpoint}/${t.bucket}/${encodeKey(key)}`, { method: 'DELETE' });
    }
    const res = await c.fetch(`${t.endpoint}/${t.bucket}`, { method: 'DELETE' });
    if (!res.ok && res.status !== 404) log(`could not delete bucket ${t.bucket}: ${res.status}`);
  } catch (e) {
    log(`could not delete bucket ${t.bucket}: ${String(e)}`);
  }
}

async function externalTarget(endpoint: string): Promise<{ target: S3Target; teardown: () => Promise<void> }> {
  const accessKeyId = process.env.S3_ACCESS_KEY_ID;
  const secretAccessKey = process.env.S3_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error('S3_ENDPOINT is set, so S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set too');
  }
  const url = new URL(endpoint);
  const target: S3Target = {
    endpoint: url.origin,
    host: url.host,
    accessKeyId,
    secretAccessKey,
    region: process.env.S3_REGION || 'us-east-1',
    bucket: process.env.S3_BUCKET || `signpost-e2e-${randomBytes(6).toString('hex')}`,
    ...(process.env.S3_ROLE_ARN ? { roleArn: process.env.S3_ROLE_ARN } : {}),
  };
  let created = false;
  if (!(await bucketExists(target))) {
    await createBucket(target);
    created = true;
  }
  log(`using ${target.endpoint}, bucket ${target.bucket}${created ? ' (created)' : ''}`);
  return { target, teardown: async () => (created ? deleteBucket(target) : undefined) };
}

async function rgwTarget(): Promise<{ target: S3Target; teardown: () => Promise<void> }> {
  await ensureRadosgw();
  const started = Date.now();
  // Ceph's admin sockets live in DIR/run and unix socket paths are limited to 107 bytes.
  const base = tmpdir().length <= 40 || !existsSync('/tmp') ? tmpdir() : '/tmp';
  const dir = await mkdtemp(join(base, 'signpost-rgw-'));
  const port = await freePort();
  const accessKeyId = `SP${alnum(18).toUpperCase()}`;
  const secretAccessKey = alnum(40);
  // Free ports for the mon too, so several suites (or sessions) can each run their own cluster.
  const [monV2, monV1] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    RGW_ACCESS_KEY: accessKeyId,
    RGW_SECRET_KEY: secretAccessKey,
    RGW_MON_V2_PORT: String(monV2),
    RGW_MON_V1_PORT: String(monV1),
  };

  let stopped = false;
  const stopSync = () => {
    // If vitest exits without running the teardown (e.g. Ctrl-C), do not leave daemons holding the mon ports.
    if (stopped) return;
    stopped = true;
    try {
      execFileSync('bash', [RGW_SH, 'stop', dir], { stdio: 'ignore' });
    } catch {
      /* best effort */
    }
  };
  process.once('exit', stopSync);
  const teardown = async () => {
    process.off('exit', stopSync);
    if (!stopped) {
      stopped = true;
      await run('bash', [RGW_SH, 'stop', dir]);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await run('bash', [RGW_SH, 'start', dir, String(port)], env);
    const target: S3Target = {
      endpoint: `http://127.0.0.1:${port}`,
      host: `127.0.0.1:${port}`,
      accessKeyId,
      secretAccessKey,
      region: 'us-east-1',
      bucket: `signpost-e2e-${randomBytes(6).toString('hex')}`,
      rgwDir: dir,
      roleArn: 'arn:aws:iam:::role/S3Access', // made by rgw.sh
    };
    await createBucket(target);
    log(`RGW on ${target.endpoint} (state ${dir}), bucket ${target.bucket}, ready in ${Date.now() - started} ms`);
    return { target, teardown };
  } catch (e) {
    // The daemons must go; the state folder stays when it has logs to look at.
    process.off('exit', stopSync);
    stopSync();
    if (!existsSync(join(dir, 'log'))) await rm(dir, { recursive: true, force: true });
    else if (e instanceof Error) e.message += `\n(RGW state and logs kept in ${dir})`;
    throw e;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const endpoint = process.env.S3_ENDPOINT;
  const { target, teardown } = endpoint ? await externalTarget(endpoint) : await rgwTarget();
  project.provide('s3', target);
  return teardown;
}
