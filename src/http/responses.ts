import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Headers on every answer of the listener. */
const COMMON_HEADERS: OutgoingHttpHeaders = { 'x-content-type-options': 'nosniff' };

/**
 * Ends `res` with `status` and a short plain-text body. Error and health
 * answers are never cached. The body is a fixed phrase chosen by the caller:
 * nothing from the request or from an error is echoed.
 */
export function sendText(res: ServerResponse, status: number, text: string, headers: OutgoingHttpHeaders = {}): void {
  const body = `${text}\n`;
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'cache-control': 'no-store',
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** Ends `res` with `status`, `body` and `headers` (a HEAD request gets the headers only). */
export function send(res: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
