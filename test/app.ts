// The app in process, for unit tests: memory stores, a fixed sealing key, fixed default credentials and clock, and
// every log line kept; anything can be overridden. `s3` answers the calls signpost makes itself, recorded.
import { expect } from "vitest";
import { createApp, type AppDeps, type LogEntry } from "../src/app.ts";
import { textLog } from "../src/http/log.ts";
import { createPresigner } from "../src/aws/signer.ts";
import { fromEnv } from "../src/credentials/env.ts";
import type { AwsAccount } from "../src/domain/account.ts";
import type { Client } from "../src/domain/client.ts";
import type { TokenIntrospector } from "../src/domain/introspector.ts";
import { nodeSha256 } from "../src/runtime/node-crypto.ts";
import { memoryStore } from "../src/store/memory.ts";
import type { ResourceStore } from "../src/store/store.ts";
import { testSealer } from "./sealer.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
export const ADMIN = `Bearer ${ADMIN_TOKEN}`;
export const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
/** An account's keys, for tests that need an account and do not care which. */
export const KEYS = { "access-key-id": "AKIDTESTACCOUNT", "secret-access-key": "test-account-secret-0123456789" };
/** What the default credentials are in these tests (an account without keys signs with them). */
export const DEFAULT_CREDENTIALS = { AWS_ACCESS_KEY_ID: "ASIADEFAULTTEST", AWS_SECRET_ACCESS_KEY: "default-secret-0123456789", AWS_SESSION_TOKEN: "FwoGZXIvYXdzEXAMPLE+session/token=" };

export interface Call {
  method: string;
  path: string;
  /** Authorization header: the admin's when undefined, none when null. */
  auth?: string | null | undefined;
  /** A value sent as JSON, or a string sent as is (with its content type in `headers`). */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when empty or not JSON). */
  json: any;
}

export type S3Handler = (request: Request) => Response | Promise<Response>;

export interface TestOptions {
  /** Another name for `store`: where accounts live. */
  accounts?: ResourceStore<AwsAccount>;
  s3?: S3Handler;
  adminToken?: string | undefined;
  corsOrigins?: string[];
  maxBodyBytes?: number;
  /** Sees every answer and log line (to look for secrets in them all, say). */
  observe?: (text: string, answer?: Answer) => void;
}

export function createTestApp(overrides: Partial<AppDeps> & TestOptions = {}) {
  const logs: LogEntry[] = [];
  const requests: { method: string; url: string; headers: Record<string, string>; body: string }[] = [];
  const accounts = overrides.store ?? overrides.accounts ?? memoryStore<AwsAccount>();
  const clients = overrides.clients ?? memoryStore<Client>();
  const introspectors = overrides.introspectors ?? memoryStore<TokenIntrospector>();
  const { s3, adminToken, corsOrigins, maxBodyBytes, observe, accounts: _accounts, ...deps } = overrides;
  const app = createApp({
    sealer: testSealer,
    credentials: fromEnv(DEFAULT_CREDENTIALS),
    presigner: createPresigner(nodeSha256),
    config: { adminToken: "adminToken" in overrides ? adminToken : ADMIN_TOKEN, ...(corsOrigins ? { corsOrigins } : {}), ...(maxBodyBytes ? { maxBodyBytes } : {}) },
    now: () => NOW,
    // As the runtimes log: lines as JSON text, which must be what JSON.stringify writes of their entries.
    log: textLog((line) => {
      const entry = JSON.parse(line) as LogEntry;
      if (JSON.stringify(entry) !== line) throw new Error(`a log line is not JSON.stringify of its entry: ${line}`);
      logs.push(entry);
      observe?.(line);
    }),
    ...(s3
      ? {
        fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
          const request = new Request(input, init);
          requests.push({ method: request.method, url: request.url, headers: Object.fromEntries(request.headers), body: await request.clone().text() });
          return s3(request);
        },
      }
      : {}),
    ...deps,
    store: accounts,
    clients,
    introspectors,
  });

  async function call(request: Call): Promise<Answer> {
    const { method, path, body, headers = {} } = request;
    const auth = request.auth === null ? undefined : (request.auth ?? ADMIN);
    const sent = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const response = await app.request(path, {
      method,
      headers: {
        ...(auth ? { authorization: auth } : {}),
        ...(body !== undefined && typeof body !== "string" ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: sent,
    });
    const text = await response.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    // Answers written from their parts (presigned.ts) must be what JSON.stringify writes of them.
    if (json !== undefined && /json/.test(response.headers.get("content-type") ?? "") && JSON.stringify(json) !== text) {
      throw new Error(`a JSON answer is not JSON.stringify of its value: ${text}`);
    }
    const answer = { status: response.status, headers: response.headers, text, json };
    observe?.(text + JSON.stringify([...response.headers]), answer);
    return answer;
  }

  /** A client with `policy`; resolves with its Authorization header. */
  async function createClient(id: string, policy: Record<string, unknown>): Promise<string> {
    const created = await call({ method: "PUT", path: `/Client/${id}`, body: { policy } });
    if (created.status !== 201) throw new Error(`PUT /Client/${id}: ${created.status} ${created.text}`);
    return `Bearer ${created.json.secret}`;
  }

  /** An account, created by the admin. */
  async function putAccount(id: string, fields: Record<string, unknown>): Promise<Answer> {
    const created = await call({ method: "PUT", path: `/AwsAccount/${id}`, body: fields });
    if (created.status >= 300) throw new Error(`PUT /AwsAccount/${id}: ${created.status} ${created.text}`);
    return created;
  }

  return { app, call, createClient, putAccount, accounts, clients, introspectors, logs, requests, admin: ADMIN };
}

export type TestApp = ReturnType<typeof createTestApp>;

/** The first issue's diagnostics of an OperationOutcome answer. */
export const diagnostics = (answer: Answer): string => answer.json.issue[0].diagnostics;

// --- For tests of the HTTP layer itself: bodies sent as text with their type, raw Responses back --------------

/** AWS's documentation example keys, for tests that compare URLs with an independent signer's. */
export const SAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
export const SAMPLE_ACCOUNT = { region: "us-east-1", "access-key-id": "AKIAIOSFODNN7EXAMPLE", "secret-access-key": SAMPLE_SECRET };

/** createTestApp (4 KiB bodies, default credentials from `env`) with requests as sent and raw Responses back. */
export function appRequests(env: Record<string, string> = {}) {
  const { app, accounts: store, logs } = createTestApp({ credentials: fromEnv(env), maxBodyBytes: 4096 });
  const call = (method: string, path: string, init: { body?: string; type?: string; headers?: Record<string, string> } = {}) =>
    app.request(path, {
      method,
      body: init.body,
      headers: {
        authorization: ADMIN,
        ...(init.body !== undefined ? { "content-type": init.type ?? "application/json" } : {}),
        ...init.headers,
      },
    });
  const json = (method: string, path: string, body: unknown) => call(method, path, { body: JSON.stringify(body) });
  return { app, store, logs, call, json };
}

/** Each level doubles the size of the expanded document: 2^levels leaves from a few hundred bytes. */
export const aliasBomb = (levels: number) =>
  `l0: &l0 [x, x]\n${Array.from({ length: levels }, (_, i) => `l${i + 1}: &l${i + 1} [*l${i}, *l${i}]`).join("\n")}\n`;

/** A JSON OperationOutcome with one error issue whose diagnostics match; resolves with the body. */
export async function expectOutcome(response: Response, status: number, pattern: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = await response.json();
  expect(body.resourceType).toBe("OperationOutcome");
  expect(body.issue).toHaveLength(1);
  expect(body.issue[0].severity).toBe("error");
  expect(body.issue[0].diagnostics).toMatch(pattern);
  return body;
}

/** createTestApp with the accounts `acc` and `other` (sample keys, single-tenant: S3's own checks are not the point). */
export async function withAccounts(options: Parameters<typeof createTestApp>[0] = {}) {
  const t = createTestApp(options);
  for (const id of ["acc", "other"]) await t.putAccount(id, { ...SAMPLE_ACCOUNT, "single-tenant": true });
  return { ...t, store: t.accounts };
}

/**
 * createTestApp whose S3 calls `s3` answers, with the accounts `acc` (AWS, eu-west-1) and `minio` (127.0.0.1:9000,
 * path style): single-tenant, as what S3 does with unsigned headers is tested elsewhere (aws/probe, and on RGW).
 */
export async function storageTestApp(s3: S3Handler = () => new Response("", { status: 500 }), env: Record<string, string> = {}) {
  const t = createTestApp({ s3, credentials: fromEnv(env) });
  const account = { ...SAMPLE_ACCOUNT, region: "eu-west-1", "single-tenant": true };
  await t.putAccount("acc", account);
  await t.putAccount("minio", { ...account, host: "127.0.0.1:9000", "path-style": true, "use-ssl": false });
  return t;
}

/** An S3 answer in XML, as the fake S3 of a storage test gives it. */
export const s3Xml = (body: string, status = 200) => new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, { status, headers: { "content-type": "application/xml" } });

/** storageTestApp with client `app` (upload and download, and `policy`); `as` POSTs to /aws/storage/acc/my-bucket<path> as it. */
export async function storageClientApp(policy: Record<string, unknown>, s3?: S3Handler) {
  const t = await storageTestApp(s3);
  const auth = await t.createClient("app", { operations: ["upload", "download"], ...policy });
  const as = (path: string, body: unknown, who: string = auth) => t.call({ method: "POST", path: `/aws/storage/acc/my-bucket${path}`, body, auth: who });
  return { ...t, auth, as };
}
