import type { ServedMethod } from '../transport/server.js';
import { CorsPolicy } from './cors.js';
import { grpcWebHandler, type GrpcWebRouteDeps } from './grpc-web-route.js';
import type { HttpRouter } from './router.js';

/** The package whose services browsers may call; health and reflection stay gRPC-only. */
const BROWSER_PACKAGE = '/roomgate.v1.';

/** Request headers a gRPC-Web page sends (connect-web, grpc-web) besides the simple ones. */
export const GRPC_WEB_REQUEST_HEADERS = ['authorization', 'content-type', 'x-grpc-web', 'x-user-agent', 'grpc-timeout', 'x-request-id'];

/** Response headers a page needs to read: a trailers-only status, the error code, and roomgate's headers. */
export const GRPC_WEB_EXPOSED_HEADERS = [
  'grpc-status',
  'grpc-message',
  'grpc-status-details-bin',
  'roomgate-error-code',
  'x-request-id',
  'roomgate-start-cursor',
];

/** The CORS policy of the gRPC-Web routes for `origins` (ROOMGATE_HTTP_CORS_ORIGINS). */
export function grpcWebCors(origins: readonly string[]): CorsPolicy {
  return new CorsPolicy(origins, {
    allowHeaders: GRPC_WEB_REQUEST_HEADERS,
    exposeHeaders: GRPC_WEB_EXPOSED_HEADERS,
    allowMethods: ['POST'],
    maxAgeSeconds: 600,
  });
}

/**
 * Adds a gRPC-Web route at the standard path (`/roomgate.v1.RoomService/CreateRoom`)
 * of every roomgate.v1 method the gRPC server serves, unary or server
 * streaming (gRPC-Web has no client streams): POST bridges the call, OPTIONS
 * answers CORS preflights. The list comes from the server itself, so a
 * service added there is on the browser path too, with nothing to repeat.
 */
export function addGrpcWebRoutes(router: HttpRouter, methods: Iterable<ServedMethod>, deps: GrpcWebRouteDeps): void {
  for (const method of methods) {
    if (!method.path.startsWith(BROWSER_PACKAGE) || method.requestStream) continue;
    router.route(method.path, {
      acceptsBody: true,
      handlers: { POST: grpcWebHandler(method, deps), OPTIONS: (req, res) => deps.cors.preflight(req, res) },
    });
  }
}
