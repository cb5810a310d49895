// signpost's own calls out (aws/client.ts through the multipart routes): real sockets and the real fetch, so that
// `redirect: "manual"` and the byte cap are what is tested.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AwsAccount } from "../../../src/domain/account.ts";
import { createTestApp, KEYS } from "../../app.ts";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ host: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { host: `127.0.0.1:${(server.address() as { port: number }).port}`, requests };
}

describe("signpost's own calls to S3 (issue 11, 4)", () => {
  async function multipartAgainst(host: string) {
    const { call, admin } = createTestApp();
    await call({ method: "PUT", path: "/AwsAccount/s3", body: { region: "us-east-1", host, "path-style": true, "use-ssl": false, ...KEYS } });
    return (path: string, body: unknown) => call({ method: "POST", path: `/aws/storage/s3/bucket/$${path}`, body });
  }

  it("never follows a redirect: the signed request is not sent on", async () => {
    const target = await listen((_, res) => res.writeHead(200).end("<ListPartsResult></ListPartsResult>"));
    const redirecting = await listen((req, res) => res.writeHead(307, { location: `http://${target.host}${req.url}` }).end());
    const op = await multipartAgainst(redirecting.host);
    for (const [path, body] of [
      ["create-multipart", { filename: "k" }],
      ["list-parts", { filename: "k", "upload-id": "u" }],
      ["complete-multipart", { filename: "k", "upload-id": "u", parts: [{ "part-number": 1, etag: '"e"' }] }],
      ["abort-multipart", { filename: "k", "upload-id": "u" }],
    ] as const) {
      const response = await op(path, body);
      expect(response.status, path).toBe(502);
      expect(response.json.issue[0].diagnostics).toMatch(/HTTP 307 \(a redirect, which signpost does not follow/);
    }
    expect(redirecting.requests).toHaveLength(4);
    expect(target.requests).toEqual([]);
  });

  it("stops reading an answer at its limit: a 400 MiB chunked answer is cut off at once", async () => {
    let sent = 0;
    let closed = false;
    const flood = await listen((req, res) => {
      res.writeHead(200, { "content-type": "application/xml" }); // chunked: no length to refuse up front
      const chunk = Buffer.alloc(64 * 1024, "x");
      const push = () => {
        while (!closed && sent < 400 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", push);
        }
        res.end();
      };
      req.socket.on("close", () => (closed = true));
      push();
    });
    const op = await multipartAgainst(flood.host);
    const response = await op("list-parts", { filename: "k", "upload-id": "u" });
    expect(response.status).toBe(502);
    expect(response.json.issue[0].diagnostics).toMatch(/larger than 1048576 bytes/);
    await vi.waitFor(() => expect(closed).toBe(true));
    expect(sent).toBeLessThan(16 * 1024 * 1024); // the socket was dropped long before 400 MiB
  });
});
