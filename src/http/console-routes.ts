import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { JOIN_PAGE_FILE, type ConsoleFile, type ConsoleFiles } from './console-files.js';
import { noneMatch } from './jwks-route.js';
import type { HttpRouter } from './router.js';

/** Where the console is served. */
export const CONSOLE_PATH = '/console';

/**
 * The console's Content-Security-Policy: its own scripts, styles and API
 * calls only; no inline script or style, no plugins, no framing, no forms
 * posted anywhere. `img-src data:` is for the empty favicon in index.html,
 * which keeps browsers from asking for /favicon.ico.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Headers on every console answer. */
export const CONSOLE_SECURITY_HEADERS: OutgoingHttpHeaders = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>roomgate console: not built</title></head>
<body><main><h1>The console is not built</h1>
<p>This roomgate has no console/dist. Build it with <code>npm run build</code> in the roomgate checkout, then restart.</p></main></body></html>
`;

/** Whether the client takes gzip (a q=0 refuses it). */
function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** Answers with one file: 304 on a matching ETag, gzip when the client takes it. */
function serveFile(file: ConsoleFile) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const headers: OutgoingHttpHeaders = {
      ...CONSOLE_SECURITY_HEADERS,
      // Hashed assets never change; index.html names them, so it is checked every time.
      'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag: file.etag,
      ...(file.gzip ? { vary: 'accept-encoding' } : {}),
    };
    if (noneMatch(req.headers['if-none-match'], file.etag)) {
      res.writeHead(304, headers).end();
      return;
    }
    const gzip = file.gzip && acceptsGzip(req) ? file.gzip : undefined;
    const body = gzip ?? file.body;
    res.writeHead(200, {
      ...headers,
      'content-type': file.contentType,
      'content-length': body.length,
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(body);
  };
}

/**
 * Adds the console's routes: one exact route per file found at startup (so
 * nothing else on disk is reachable, whatever the path), `/console/` for
 * index.html, and a redirect from `/console`. Without `files` (console/dist
 * missing) both answer 404 with a page that says how to build it.
 */
export function addConsoleRoutes(router: HttpRouter, files: ConsoleFiles | undefined): HttpRouter {
  router.get(CONSOLE_PATH, (_req, res) => {
    res.writeHead(301, { ...CONSOLE_SECURITY_HEADERS, location: `${CONSOLE_PATH}/`, 'cache-control': 'no-cache', 'content-length': 0 }).end();
  });
  if (!files) {
    return router.get(`${CONSOLE_PATH}/`, (_req, res) => {
      res.writeHead(404, {
        ...CONSOLE_SECURITY_HEADERS,
        'cache-control': 'no-store',
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(NOT_BUILT),
      });
      res.end(NOT_BUILT);
    });
  }
  for (const [name, file] of files) {
    // The join page is served at /join/<code> only (join-page-routes.ts), with headers of its own.
    if (name !== JOIN_PAGE_FILE) router.get(`${CONSOLE_PATH}/${name}`, serveFile(file));
  }
  const index = files.get('index.html');
  if (index) router.get(`${CONSOLE_PATH}/`, serveFile(index));
  return router;
}
