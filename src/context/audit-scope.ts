// The audit record of the call being served, gathered on its way from the
// adapter (gRPC unary handler or CLI command: who, which method, which
// request) to the store (which targets, in which transaction). Neutral ground,
// like call-deadline.ts: the adapters set it and the store reads it; neither
// imports the other, and the domain never sees it.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuditActor, AuditTarget } from '../domain/audit-record.js';
import type { Environment } from '../domain/principal.js';

/** Who is calling and how, as the adapter knows it. */
export interface AuditCall {
  /** Full RPC name (`roomgate.v1.RoomService/CreateRoom`) or `cli <command>`. */
  method: string;
  requestId: string;
  /** Known after authentication; a CLI command may leave it to the store. */
  environment?: Environment;
  actor?: AuditActor;
}

interface CallScope extends AuditCall {
  /** The call's one record is written (committed): later changes add none. */
  recorded: boolean;
  /** The call has settled: work it started and left running is not the call. */
  ended: boolean;
}

/** One transaction's share of the call: what it changed. */
export interface AuditFrame {
  readonly call: CallScope;
  environment?: Environment;
  targets: AuditTarget[];
  changed: boolean;
  refusal?: string;
}

/** A record ready to append: everything but its place in the chain, id and time. */
export interface PendingAuditRecord {
  environment: Environment;
  actor: AuditActor;
  method: string;
  targets: AuditTarget[];
  requestId: string;
  result: 'OK' | 'PERMISSION_DENIED';
  errorReason: string;
}

const calls = new AsyncLocalStorage<CallScope>();
const frames = new AsyncLocalStorage<AuditFrame>();

/**
 * Runs `fn` as an audited call. The scope closes when `fn` settles, so a timer
 * or background write the call started (and that inherits its async context)
 * is never recorded under it.
 */
export function withAuditScope<T>(call: AuditCall, fn: () => Promise<T>): Promise<T> {
  const scope: CallScope = { ...call, recorded: false, ended: false };
  return calls.run(scope, fn).finally(() => {
    scope.ended = true;
  });
}

/** Names the authenticated caller of the current call; a no-op outside one. */
export function setAuditActor(environment: Environment, actor: AuditActor): void {
  const scope = calls.getStore();
  if (scope && !scope.ended) Object.assign(scope, { environment, actor });
}

function openCall(): CallScope | undefined {
  const scope = calls.getStore();
  return scope && !scope.ended && !scope.recorded && scope.actor ? scope : undefined;
}

/**
 * Runs `fn` (one transaction's work) in a frame of its own when an audited
 * call is open and not yet recorded; returns the frame, to be read with
 * {@link pendingAuditRecord} before COMMIT.
 */
export function auditFrame<T>(fn: () => Promise<T>): { frame: AuditFrame | undefined; result: Promise<T> } {
  const call = openCall();
  if (!call) return { frame: undefined, result: fn() };
  const frame: AuditFrame = { call, targets: [], changed: false };
  return { frame, result: frames.run(frame, fn) };
}

/**
 * Called by a store write path, inside its transaction, when it has changed
 * something: the call gets a record in this transaction, naming `targets`
 * (in order, without repeats). `environment` is the data's; signing keys have
 * none and leave the caller's. A no-op outside an audited call (background
 * work such as the purge), or once the call has its record.
 */
export function auditChange(environment: Environment | undefined, ...targets: AuditTarget[]): void {
  const frame = frames.getStore();
  if (!frame) {
    // A write path that names its change outside a transaction would lose
    // the record, or write it alone, which the audit log promises never to do.
    if (openCall()) throw new Error('auditChange called outside a transaction');
    return;
  }
  frame.changed = true;
  frame.environment ??= environment;
  for (const t of targets) {
    if (!frame.targets.some((k) => k.type === t.type && k.id === t.id)) frame.targets.push(t);
  }
}

/** Marks the current transaction as the record of a call refused with `errorReason` after authentication. */
export function auditRefusal(errorReason: string): void {
  const frame = frames.getStore();
  if (!frame) return;
  frame.changed = true;
  frame.refusal = errorReason;
}

/** The record `frame`'s transaction must append before COMMIT, if any. */
export function pendingAuditRecord(frame: AuditFrame | undefined): PendingAuditRecord | undefined {
  const call = frame?.call;
  if (!frame?.changed || !call?.actor || call.ended || call.recorded) return undefined;
  const environment = frame.environment ?? call.environment;
  if (!environment) throw new Error(`the audited call ${call.method} changed something in no environment`);
  return {
    environment,
    actor: call.actor,
    method: call.method,
    targets: frame.targets,
    requestId: call.requestId,
    result: frame.refusal ? 'PERMISSION_DENIED' : 'OK',
    errorReason: frame.refusal ?? '',
  };
}

/** Notes that `frame`'s record is committed: the call gets no other. */
export function auditRecorded(frame: AuditFrame): void {
  frame.call.recorded = true;
}
