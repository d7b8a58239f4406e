import type { handleUnaryCall, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Authenticator } from '../domain/authenticator.js';
import type { Principal } from '../domain/principal.js';
import { isInternal, toServiceError } from './status.js';

/** What every authenticated handler receives besides its request. */
export interface CallContext {
  principal: Principal;
}

/** What the adapter needs from the server. */
export interface UnaryDeps {
  authenticator: Authenticator;
  logger: Logger;
}

/** Reads the single `authorization` metadata value, if present and a string. */
function authorizationOf(call: ServerUnaryCall<unknown, unknown>): string | undefined {
  const value = call.metadata.get('authorization');
  return value.length === 1 && typeof value[0] === 'string' ? value[0] : value.length === 0 ? undefined : '';
}

/**
 * Adapts `async (request, context) => response` to grpc-js's callback form,
 * after nice-grpc's createUnaryMethodHandler: authenticates the caller, calls
 * the callback exactly once, and never lets a thrown error reach grpc-js (which
 * would send its message to the client as UNKNOWN). Logs one line per call,
 * with no token, metadata body or request content.
 */
export function unary<Req, Res>(
  deps: UnaryDeps,
  method: string,
  handler: (request: Req, context: CallContext) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => run(deps, method, call, callback, async () => {
    const principal = await deps.authenticator.authenticate(authorizationOf(call));
    return handler(call.request, { principal });
  });
}

/** Like {@link unary} for methods that need no authentication (GetJwks). */
export function publicUnary<Req, Res>(
  deps: UnaryDeps,
  method: string,
  handler: (request: Req) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => run(deps, method, call, callback, () => handler(call.request));
}

function run<Req, Res>(
  deps: UnaryDeps,
  method: string,
  call: ServerUnaryCall<Req, Res>,
  callback: sendUnaryData<Res>,
  body: () => Promise<Res>,
): void {
  const started = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
  body().then(
    (response) => {
      deps.logger.info({ method, code: status.OK, ms: ms() }, 'rpc');
      callback(null, response);
    },
    (err: unknown) => {
      const sent = toServiceError(err);
      if (isInternal(err)) deps.logger.error({ method, code: sent.code, ms: ms(), err }, 'rpc failed');
      else deps.logger.info({ method, code: sent.code, ms: ms(), reason: sent.details }, 'rpc');
      callback(sent);
    },
  );
}
