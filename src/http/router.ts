import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseRequestTarget, type RequestTarget } from './request-target.js';
import { sendText } from './responses.js';

/** A handler of one route and method; the target is already checked. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => void | Promise<void>;

/** The methods a route may answer; HEAD is answered by GET's handler. */
export type HttpMethod = 'GET' | 'POST' | 'OPTIONS';

/** One path's handlers. */
export interface HttpRoute {
  handlers: Partial<Record<HttpMethod, HttpHandler>>;
  /** Whether requests may carry a body (default: no, and one is refused with 413 before the handler runs). */
  acceptsBody?: boolean;
}

/**
 * Routes requests by exact path and method. It answers, before any handler
 * runs: 400 for a target that could spell a path another way (see
 * {@link parseRequestTarget}), 404 for an unknown path, 405 with Allow for
 * another method, and 413 for a body on a route that takes none. A handler
 * that throws gives 500 "internal error"; the error goes to `onError`, never
 * to the client.
 */
export class HttpRouter {
  private readonly routes = new Map<string, HttpRoute>();
  private readonly prefixes: { prefix: string; accepts: (rest: string) => boolean; route: HttpRoute }[] = [];

  constructor(private readonly onError: (err: unknown, req: IncomingMessage) => void) {}

  /** Adds a route for GET (and HEAD). */
  get(path: string, handler: HttpHandler): this {
    return this.route(path, { handlers: { GET: handler } });
  }

  /** Adds a route; a path may be added once. */
  route(path: string, route: HttpRoute): this {
    if (this.routes.has(path)) throw new Error(`route ${path} is already defined`);
    this.routes.set(path, route);
    return this;
  }

  /**
   * Adds a route for every path `prefix` + one segment that `accepts` (e.g.
   * `/join/<code>`); other paths under the prefix are 404 like any unknown one.
   */
  prefixRoute(prefix: string, accepts: (rest: string) => boolean, route: HttpRoute): this {
    if (!prefix.endsWith('/') || this.prefixes.some((p) => p.prefix === prefix)) throw new Error(`bad or repeated prefix ${prefix}`);
    this.prefixes.push({ prefix, accepts, route });
    return this;
  }

  /** Answers one request. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = parseRequestTarget(req.url);
    if ('refused' in target) return sendText(res, 400, `bad request: ${target.refused}`);
    const route = this.routes.get(target.path) ?? this.prefixed(target.path);
    if (!route) return sendText(res, 404, 'not found');
    const method = req.method === 'HEAD' ? 'GET' : (req.method as HttpMethod);
    const handler = Object.hasOwn(route.handlers, method) ? route.handlers[method] : undefined;
    if (!handler) return sendText(res, 405, 'method not allowed', { allow: allowed(route) });
    if (!route.acceptsBody && hasBody(req)) {
      // The body is not read, so the connection cannot carry another request.
      return sendText(res, 413, 'request bodies are not accepted here', { connection: 'close' });
    }
    try {
      await handler(req, res, target);
    } catch (err) {
      this.onError(err, req);
      if (!res.headersSent) sendText(res, 500, 'internal error');
      else res.destroy();
    }
  }

  private prefixed(path: string): HttpRoute | undefined {
    const match = this.prefixes.find((p) => path.startsWith(p.prefix));
    return match && match.accepts(path.slice(match.prefix.length)) ? match.route : undefined;
  }
}

function allowed(route: HttpRoute): string {
  const methods = Object.keys(route.handlers) as HttpMethod[];
  return (methods.includes('GET') ? ['GET', 'HEAD', ...methods.filter((m) => m !== 'GET')] : methods).join(', ');
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
