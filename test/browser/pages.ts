// The test pages: each Uppy major's page bundled as a user bundles it (esbuild, from that page's own package with the
// published @uppy/core and @uppy/aws-s3), served by a small static server on an origin of its own. With `proxy`,
// the server also forwards a path to signpost, so that the page and signpost's routes share one origin (as an app
// and its API behind one host do); `cookie` is set on the page as the app's login would (HttpOnly).
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export type PageName = "uppy-5" | "uppy-6";

/** The page's script: test/browser/<name>/page.ts and what it imports, in one file for browsers. */
export async function bundlePage(name: PageName): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(`./${name}/page.ts`, import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "chrome120",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

export interface PageServer {
  /** http://<host>:<port> */
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves `/<name>.html` and `/<name>.js` for each bundle on `host` (a name of its own makes another site:
 * localhost is not 127.0.0.1). `proxy.path` and below go to `proxy.target`, headers and body as they came.
 */
export async function servePages(options: { host: string; scripts: Partial<Record<PageName, string>>; proxy?: { path: string; target: string }; cookie?: string }): Promise<PageServer> {
  const { scripts, proxy, cookie } = options;
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const target = new URL(req.url!, proxy!.target);
    const upstream = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url!, "http://page").pathname;
    if (proxy && (path === proxy.path || path.startsWith(`${proxy.path}/`))) return forward(req, res);
    const [, name, extension] = /^\/(uppy-[56])\.(html|js)$/.exec(path) ?? [];
    const script = name ? scripts[name as PageName] : undefined;
    if (!script) return res.writeHead(404).end();
    if (extension === "js") return res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(script);
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...(cookie ? { "set-cookie": `${cookie}; Path=/; HttpOnly; SameSite=Strict` } : {}) });
    res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${name}</title><script type="module" src="/${name}.js"></script></head><body></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
