import { Metadata, status, type handleServerStreamingCall, type ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { setAuditActor, withAuditScope } from '../context/audit-scope.js';
import type { Authenticator } from '../domain/authenticator.js';
import { DomainError } from '../domain/errors.js';
import type { EventStream } from '../domain/event-stream.js';
import type { AuditTrail } from '../domain/ports/index.js';
import type { Principal } from '../domain/principal.js';
import type { WatchLease, WatchRegistry } from '../domain/watch-registry.js';
import type { WatchEventsRequest, WatchEventsResponse } from '../gen/roomgate/v1/event_service.js';
import { fromEventTypes, toWireEvent } from './event-mapper.js';
import { isInternal, toServiceError } from './status.js';
import { auditActorOf, authorizationOf, recordRefusal, requestIdOf } from './unary.js';

/** What the WatchEvents handler needs. */
export interface WatchEventsDeps {
  authenticator: Authenticator;
  logger: Logger;
  events: EventStream;
  /** Admits streams within the caps, and ends those whose credentials stop holding. */
  streams: WatchRegistry;
  /** Events a stream may have written but not yet handed to HTTP/2 before its consumer counts as slow. */
  maxBacklog: number;
  /** How long a slow consumer has to work through half its backlog before it is cut off; 5 s by default. */
  stallTimeoutMs?: number;
  /** Aborted when the server shuts down: open streams end with UNAVAILABLE and a cursor to resume from. */
  stopping?: AbortSignal;
  /** Records streams refused after authentication; absent in setups that keep no audit log. */
  audit?: AuditTrail;
}

type Call = ServerWritableStream<WatchEventsRequest, WatchEventsResponse>;

const METHOD = 'WatchEvents';

/**
 * The WatchEvents handler: authenticates, then streams events until the
 * client cancels. Writes follow the client's pace; a client that cannot keep
 * up is cut off with RESOURCE_EXHAUSTED and the cursor to resume from, so the
 * server never holds more than `maxBacklog` of its events. Nothing thrown
 * reaches grpc-js: every failure ends the call through the status table.
 */
export function watchEvents(deps: WatchEventsDeps): handleServerStreamingCall<WatchEventsRequest, WatchEventsResponse> {
  return (call) => void serve(deps, call);
}

async function serve(deps: WatchEventsDeps, call: Call): Promise<void> {
  const started = process.hrtime.bigint();
  const stop = new AbortController();
  const onStop = () => stop.abort();
  call.once('cancelled', onStop);
  deps.stopping?.addEventListener('abort', onStop, { once: true });
  if (call.cancelled || deps.stopping?.aborted) stop.abort();
  const backlog = new Backlog(call);
  let resumeCursor = call.request.afterCursor;
  let sent = 0;
  let subscribed = false;
  let ending: unknown;
  let lease: WatchLease | undefined;
  let principal: Principal | undefined;
  try {
    const authorization = authorizationOf(call.metadata);
    principal = await deps.authenticator.authenticate(authorization);
    // A token revoked or expired while the stream is open ends it with UNAUTHENTICATED.
    lease = deps.streams.open(principal, authorization ?? '', (err) => {
      ending ??= err;
      stop.abort();
    });
    const { afterCursor, roomId, heartbeatIntervalSeconds } = call.request;
    const input = { afterCursor, roomId, types: fromEventTypes(call.request.types), heartbeatIntervalSeconds };
    for await (const progress of deps.events.watch(principal, input, stop.signal)) {
      // Headers go out once the starting point is fixed: a client that waits
      // for them knows that every event committed from then on will come.
      // The starting cursor goes with them, so a client cut off before its
      // first event or heartbeat can still resume without a gap.
      if (!subscribed) call.sendMetadata(startHeaders(progress.cursor));
      subscribed = true;
      const checking = progress.events.length > 0 || progress.heartbeat ? lease.checked() : undefined;
      if (checking) await checking;
      if (stop.signal.aborted) break;
      // A consumer with messages still in flight will have them as proof of life; a heartbeat would only add to its backlog.
      if (progress.heartbeat && backlog.size < deps.maxBacklog) {
        backlog.write({ event: undefined, heartbeat: { cursor: progress.cursor, time: progress.heartbeat.time } });
      }
      for (const event of progress.events) {
        if (backlog.size >= deps.maxBacklog) {
          const drained = await backlog.drainTo(Math.floor(deps.maxBacklog / 2), deps.stallTimeoutMs ?? 5_000, stop.signal);
          if (drained === 'aborted') break;
          if (drained === 'timeout') throw resumable('ERR_WATCH_TOO_SLOW', 'consumer too slow', resumeCursor);
        }
        backlog.write({ event: toWireEvent(event), heartbeat: undefined });
        resumeCursor = event.cursor;
        sent++;
      }
      if (stop.signal.aborted) break;
      resumeCursor = progress.cursor;
    }
    if (!call.cancelled) ending ??= resumable('ERR_SHUTTING_DOWN', 'server shutting down', resumeCursor);
  } catch (err) {
    ending ??= err;
    // Watching changes nothing, but a refusal after authentication is recorded, as for unary calls.
    if (principal && err instanceof DomainError && err.code === 'ERR_PERMISSION_DENIED') await refused(deps, call, principal, err.code);
  } finally {
    lease?.release();
    call.off('cancelled', onStop);
    deps.stopping?.removeEventListener('abort', onStop);
  }
  finish(deps.logger, call, ending, { sent, ms: Number(process.hrtime.bigint() - started) / 1e6 });
}

/** Records a stream refused after authentication, in a transaction of its own. */
async function refused(deps: WatchEventsDeps, call: Call, principal: Principal, errorReason: string): Promise<void> {
  const audited = { method: 'roomgate.v1.EventService/WatchEvents', requestId: requestIdOf(call) };
  await withAuditScope(audited, async () => {
    setAuditActor(principal.environment, auditActorOf(principal));
    await recordRefusal(deps, { method: METHOD }, errorReason);
  });
}

/** The response headers of WatchEvents: `roomgate-start-cursor`, where the stream starts. */
function startHeaders(cursor: string): Metadata {
  const headers = new Metadata();
  headers.set('roomgate-start-cursor', cursor);
  return headers;
}

/** An error that ends a stream the client may resume, with the cursor in the message and as `resumeCursor` metadata. */
function resumable(code: 'ERR_WATCH_TOO_SLOW' | 'ERR_SHUTTING_DOWN', what: string, cursor: string): DomainError {
  return new DomainError(code, `${what}; resume from cursor ${cursor}`, { metadata: { resumeCursor: cursor } });
}

/** Ends the call with `ending`'s status (the client already left if it cancelled) and logs one line. */
function finish(logger: Logger, call: Call, ending: unknown, facts: { sent: number; ms: number }): void {
  if (call.cancelled) {
    logger.info({ method: METHOD, code: status.CANCELLED, ...facts }, 'rpc');
    return;
  }
  const sent = toServiceError(ending);
  if (isInternal(ending)) logger.error({ method: METHOD, code: sent.code, ...facts, err: ending }, 'rpc failed');
  else logger.info({ method: METHOD, code: sent.code, ...facts, reason: sent.details }, 'rpc');
  // Queued behind the events already written: the client reads them all, then this status.
  call.emit('error', sent);
}

/** Counts messages written to the call and not yet handed to HTTP/2, which are held in this process. */
class Backlog {
  private pending = 0;
  private onFlush: (() => void) | undefined;

  constructor(private readonly call: Call) {}

  get size(): number {
    return this.pending;
  }

  write(message: WatchEventsResponse): void {
    this.pending++;
    this.call.write(message, () => {
      this.pending--;
      this.onFlush?.();
    });
  }

  /** Waits until at most `target` are pending; 'timeout' when that takes longer than `timeoutMs`. */
  drainTo(target: number, timeoutMs: number, signal: AbortSignal): Promise<'drained' | 'timeout' | 'aborted'> {
    return new Promise((resolve) => {
      const done = (outcome: 'drained' | 'timeout' | 'aborted') => {
        clearTimeout(timer);
        signal.removeEventListener('abort', aborted);
        this.onFlush = undefined;
        resolve(outcome);
      };
      const aborted = () => done('aborted');
      const timer = setTimeout(() => done('timeout'), timeoutMs);
      signal.addEventListener('abort', aborted, { once: true });
      this.onFlush = () => {
        if (this.pending <= target) done('drained');
      };
      if (signal.aborted) done('aborted');
      else this.onFlush();
    });
  }
}
