import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { HttpHandler } from './router.js';
import { send } from './responses.js';

/** The JWKS URL's path, as RFC 8414 and OpenID Connect discovery place it. */
export const JWKS_PATH = '/.well-known/jwks.json';

/** The media type of a JWK Set (RFC 7517 section 8.5). */
export const JWKS_CONTENT_TYPE = 'application/jwk-set+json';

/**
 * A strong ETag of `body`: a hash of its bytes, so every instance serving the
 * same key set gives the same tag (the set's text is the same everywhere: the
 * keys come from one table, in an order fixed by their times and kids).
 */
export function jwksEtag(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url')}"`;
}

/** Whether an If-None-Match header matches `etag` (weak comparison, RFC 9110 section 13.1.2). */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}

/**
 * GET /.well-known/jwks.json: the same JWKS as TokenService.GetJwks, with a
 * max-age from {@link jwksMaxAgeSeconds} and an ETag that turns a repeated
 * fetch into a 304.
 */
export function jwksRoute(tokens: { jwks(): string }, maxAgeSeconds: number): HttpHandler {
  let last: { body: string; etag: string } | undefined;
  return (req: IncomingMessage, res) => {
    const body = tokens.jwks();
    if (last?.body !== body) last = { body, etag: jwksEtag(body) };
    const headers = {
      etag: last.etag,
      'cache-control': `public, max-age=${maxAgeSeconds}`,
      // Public keys, fetched without credentials: a verifier in a browser may read them too.
      'access-control-allow-origin': '*',
    };
    if (noneMatch(req.headers['if-none-match'], last.etag)) {
      res.writeHead(304, headers).end();
      return;
    }
    send(res, 200, body, { ...headers, 'content-type': JWKS_CONTENT_TYPE });
  };
}
