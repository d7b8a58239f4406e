import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { sendText } from './responses.js';

/** What a CORS policy lets a page send and read. */
export interface CorsRules {
  /** Request headers a page may set (Access-Control-Allow-Headers). */
  allowHeaders: readonly string[];
  /** Response headers a page may read (Access-Control-Expose-Headers). */
  exposeHeaders: readonly string[];
  /** Methods a page may use (Access-Control-Allow-Methods). */
  allowMethods: readonly string[];
  /** How long a browser may keep a preflight's answer. */
  maxAgeSeconds: number;
}

/**
 * Cross-origin access for pages served elsewhere, by exact origin. No
 * credentials mode is allowed: roomgate's callers send a bearer token they
 * hold, never a cookie, so a page that may not read an answer also has no
 * ambient credential to call with. An origin not on the list gets no CORS
 * header at all, and its browser keeps the answer from the page; a
 * same-origin page (the console) needs none.
 */
export class CorsPolicy {
  private readonly origins: ReadonlySet<string>;

  constructor(origins: readonly string[], private readonly rules: CorsRules) {
    this.origins = new Set(origins);
  }

  /** Whether pages of `origin` may call. */
  allows(origin: string | undefined): origin is string {
    return origin !== undefined && this.origins.has(origin);
  }

  /** Headers of an answer to a request from `origin`: the grant when it is allowed, and Vary either way, so that no cache serves one origin's answer to another. */
  responseHeaders(origin: string | undefined): OutgoingHttpHeaders {
    if (!this.allows(origin)) return { vary: 'origin' };
    return { vary: 'origin', 'access-control-allow-origin': origin, 'access-control-expose-headers': this.rules.exposeHeaders.join(', ') };
  }

  /**
   * Answers an OPTIONS request: a preflight from an allowed origin gets 204
   * with what it may send; one from another origin gets 403 with no grant;
   * an OPTIONS that is no preflight gets 204 with Allow.
   */
  preflight(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (origin === undefined || req.headers['access-control-request-method'] === undefined) {
      res.writeHead(204, { allow: [...this.rules.allowMethods, 'OPTIONS'].join(', '), 'cache-control': 'no-store' });
      res.end();
      return;
    }
    if (!this.allows(origin)) return sendText(res, 403, 'origin not allowed (ROOMGATE_HTTP_CORS_ORIGINS)', { vary: 'origin' });
    res.writeHead(204, {
      vary: 'origin',
      'access-control-allow-origin': origin,
      'access-control-allow-methods': this.rules.allowMethods.join(', '),
      'access-control-allow-headers': this.rules.allowHeaders.join(', '),
      'access-control-max-age': String(this.rules.maxAgeSeconds),
    });
    res.end();
  }
}
