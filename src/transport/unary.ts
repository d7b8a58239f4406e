import type { handleUnaryCall, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { Metadata, status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { setAuditActor, withAuditScope } from '../context/audit-scope.js';
import { withCallDeadline } from '../context/call-deadline.js';
import type { AuditActor } from '../domain/audit-record.js';
import type { Authenticator } from '../domain/authenticator.js';
import { DomainError } from '../domain/errors.js';
import type { AuditTrail } from '../domain/ports/index.js';
import type { Principal } from '../domain/principal.js';
import type { RoomgateMetrics } from './metrics.js';
import { isInternal, toServiceError } from './status.js';

/** What every authenticated handler receives besides its request. */
export interface CallContext {
  principal: Principal;
}

/** What the adapter needs from the server. */
export interface UnaryDeps {
  authenticator: Authenticator;
  logger: Logger;
  /** Prometheus metrics; absent in setups that serve none. */
  metrics?: RoomgateMetrics;
  /** Records calls refused after authentication; absent in setups that keep no audit log. */
  audit?: AuditTrail;
}

/** Reads the single `authorization` metadata value, if present and a string. */
export function authorizationOf(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization');
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
  return (call, callback) =>
    run(deps, method, call, callback, async (fields) => {
      const principal = await deps.authenticator.authenticate(authorizationOf(call.metadata));
      fields.environment = principal.environment;
      // From here on, a change the store makes is recorded under this caller.
      setAuditActor(principal.environment, auditActorOf(principal));
      try {
        return await handler(call.request, { principal });
      } catch (err) {
        if (err instanceof DomainError && err.code === 'ERR_PERMISSION_DENIED') await recordRefusal(deps, fields, err.code);
        throw err;
      }
    });
}

/** The audit log's name for a caller: ids, name and hint, never the token. */
export function auditActorOf(principal: Principal): AuditActor {
  return principal.kind === 'management'
    ? { kind: 'management_token', tokenId: principal.tokenId, name: principal.tokenName ?? '', hint: principal.tokenHint ?? '' }
    : { kind: 'peer_token', peerId: principal.peerId, roomId: principal.roomId };
}

/** Records a refused call; the caller gets its PERMISSION_DENIED whether or not the record could be written. */
export async function recordRefusal(deps: Pick<UnaryDeps, 'audit' | 'logger'>, fields: object, errorReason: string): Promise<void> {
  await deps.audit?.recordRefusal(errorReason).catch((err: unknown) => {
    deps.logger.error({ ...fields, err }, 'could not record a refused call in the audit log');
  });
}

/** Like {@link unary} for methods that need no authentication (GetJwks, RedeemJoinCode); the handler also gets the call, for its peer address. */
export function publicUnary<Req, Res>(
  deps: UnaryDeps,
  method: string,
  handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => run(deps, method, call, callback, () => handler(call.request, call));
}

/** Metadata key of the request id, taken from the caller or generated, and echoed in the response headers. */
export const REQUEST_ID_HEADER = 'x-request-id';

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** Identifiers a log line may carry: never a token, secret or metadata body. */
interface LogFields {
  method: string;
  requestId: string;
  environment?: string;
  roomId?: string;
  peerId?: string;
}

/** The caller's x-request-id when it is a sane value, else a new UUID. */
export function requestIdOf(call: Pick<ServerUnaryCall<unknown, unknown>, 'metadata'>): string {
  const [value] = call.metadata.get(REQUEST_ID_HEADER);
  return typeof value === 'string' && REQUEST_ID.test(value) ? value : randomUUID();
}

/** Room and peer ids named by the request, for the log line (ids only, validated later). */
function idsOf(request: unknown): Pick<LogFields, 'roomId' | 'peerId'> {
  const r = request as { roomId?: unknown; peerId?: unknown } | undefined;
  const id = (v: unknown) => (typeof v === 'string' && /^[0-9a-f-]{36}$/.test(v) ? v : undefined);
  return { roomId: id(r?.roomId), peerId: id(r?.peerId) };
}

/** `roomgate.v1.RoomService/CreateRoom`: the path grpc-js routed the call by, without its leading slash. */
function fullMethodOf(call: ServerUnaryCall<unknown, unknown>, method: string): string {
  const path = typeof call.getPath === 'function' ? call.getPath() : '';
  return path.startsWith('/') ? path.slice(1) : method;
}

/** The call's deadline in epoch milliseconds; Infinity when the client set none. */
function deadlineOf(call: ServerUnaryCall<unknown, unknown>): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

function run<Req, Res>(
  deps: UnaryDeps,
  method: string,
  call: ServerUnaryCall<Req, Res>,
  callback: sendUnaryData<Res>,
  body: (fields: LogFields) => Promise<Res>,
): void {
  const started = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
  const fields: LogFields = { method, requestId: requestIdOf(call), ...idsOf(call.request) };
  const headers = new Metadata();
  headers.set(REQUEST_ID_HEADER, fields.requestId);
  call.sendMetadata(headers);
  const done = deps.metrics?.start(method);
  // The store reads the deadline to bound its statements, and the audit
  // scope to record the call's change (see src/store/pool.ts).
  const audited = { method: fullMethodOf(call, method), requestId: fields.requestId };
  withCallDeadline(deadlineOf(call), () => withAuditScope(audited, () => body(fields))).then(
    (response) => {
      done?.(status.OK);
      deps.logger.info({ ...fields, code: status.OK, ms: ms() }, 'rpc');
      callback(null, response);
    },
    (err: unknown) => {
      const sent = toServiceError(err);
      done?.(sent.code ?? status.UNKNOWN);
      if (isInternal(err)) deps.logger.error({ ...fields, code: sent.code, ms: ms(), err }, 'rpc failed');
      else deps.logger.info({ ...fields, code: sent.code, ms: ms(), reason: sent.details }, 'rpc');
      callback(sent);
    },
  );
}
