import type { HttpHandler } from './router.js';
import { sendText } from './responses.js';

/** GET /healthz: 200 while the process answers at all. */
export const healthzRoute: HttpHandler = (_req, res) => sendText(res, 200, 'ok');

/**
 * GET /readyz: 200 when `ready()` says so, 503 otherwise. `ready` is the
 * status grpc.health.v1 reports, which the database probe drives and shutdown
 * turns off, so a load balancer that speaks only HTTP sees what a gRPC one does.
 */
export function readyzRoute(ready: () => boolean): HttpHandler {
  return (_req, res) => (ready() ? sendText(res, 200, 'ready') : sendText(res, 503, 'not ready', { 'retry-after': '1' }));
}
