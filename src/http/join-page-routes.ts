import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { JOIN_PAGE_FILE, type ConsoleFile, type ConsoleFiles } from './console-files.js';
import { CONSOLE_CSP } from './console-routes.js';
import type { HttpRouter } from './router.js';

/** Where join links point: `/join/<code>` (docs/join-codes.md). */
export const JOIN_PATH_PREFIX = '/join/';

/**
 * What a code in the path may look like: link and short codes are made of
 * these characters (short ones typed with dashes or without), and nothing
 * longer than this is a code. Anything else is 404 without the page, so a
 * junk or probing path costs no gRPC call.
 */
const CODE_SEGMENT = /^[A-Za-z0-9_-]{6,128}$/;

/** Whether `segment` (what follows /join/) could be a join code. */
export function isJoinCodeSegment(segment: string): boolean {
  return CODE_SEGMENT.test(segment);
}

/**
 * Headers of the join page. The code is in its path, so: no Referer to any
 * other site (the page's own asset and gRPC-Web requests carry none either),
 * never stored by a browser or proxy cache, never indexed, never framed. The
 * CSP is the console's: the page's own scripts only, no inline script.
 */
export const JOIN_PAGE_HEADERS: OutgoingHttpHeaders = {
  'content-security-policy': CONSOLE_CSP,
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-robots-tag': 'noindex, nofollow',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Join page unavailable</title></head>
<body><main><h1>The join page is not available</h1>
<p>This server was started without its web pages built (console/dist). Its operator can build them with <code>npm run build</code> and restart.</p></main></body></html>
`;

/**
 * A request path as it may be logged: a join link's code is replaced, since
 * the code is a credential, and the query is left out.
 */
export function loggablePath(url: string | undefined): string {
  const path = ((url ?? '').replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, '').split('?')[0] ?? '').split('#')[0] ?? '';
  return path.startsWith(JOIN_PATH_PREFIX) ? `${JOIN_PATH_PREFIX}<redacted>` : path;
}

/**
 * Adds `GET /join/<code>`: the built join page, whatever the code (the page
 * itself redeems it over gRPC-Web), for any path whose code segment could be
 * one. Without a build, 404 with a page that says so.
 */
export function addJoinPageRoutes(router: HttpRouter, files: ConsoleFiles | undefined): HttpRouter {
  const page = files?.get(JOIN_PAGE_FILE);
  return router.prefixRoute(JOIN_PATH_PREFIX, isJoinCodeSegment, {
    handlers: { GET: (_req, res) => (page ? sendPage(res, 200, page) : sendPage(res, 404, undefined)) },
  });
}

function sendPage(res: ServerResponse, status: number, file: ConsoleFile | undefined): void {
  const body = file?.body ?? Buffer.from(NOT_BUILT);
  res.writeHead(status, { ...JOIN_PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': body.length });
  res.end(body);
}
