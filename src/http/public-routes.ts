import type { IncomingMessage } from 'node:http';
import type { ConsoleFiles } from './console-files.js';
import { addConsoleRoutes } from './console-routes.js';
import { addJoinPageRoutes } from './join-page-routes.js';
import { healthzRoute, readyzRoute } from './health-routes.js';
import { JWKS_PATH, jwksRoute } from './jwks-route.js';
import { HttpRouter } from './router.js';

/** What the public routes read. */
export interface PublicRoutesDeps {
  /** The JWKS as text: TokenManager.jwks(), what GetJwks answers. */
  tokens: { jwks(): string };
  /** Cache-Control max-age of the JWKS (jwksMaxAgeSeconds). */
  jwksMaxAgeSeconds: number;
  /** Whether the server is ready for traffic: the grpc.health.v1 status. */
  ready: () => boolean;
  /** The built console (loadConsoleFiles); undefined when it was not built, and /console/ says so. */
  consoleFiles: ConsoleFiles | undefined;
  /** Told about a handler that threw. */
  onError: (err: unknown, req: IncomingMessage) => void;
}

/** The router of the public listener: the JWKS, health, the console and the join page. */
export function publicRouter(deps: PublicRoutesDeps): HttpRouter {
  const router = new HttpRouter(deps.onError)
    .get(JWKS_PATH, jwksRoute(deps.tokens, deps.jwksMaxAgeSeconds))
    .get('/healthz', healthzRoute)
    .get('/readyz', readyzRoute(deps.ready));
  return addJoinPageRoutes(addConsoleRoutes(router, deps.consoleFiles), deps.consoleFiles);
}
