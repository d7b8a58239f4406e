import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { DomainError, type ErrorCode } from '../domain/errors.js';
import type { Any } from '../gen/google/protobuf/any.js';
import { BadRequest, ErrorInfo, RetryInfo } from '../gen/google/rpc/error_details.js';
import { Status } from '../gen/google/rpc/status.js';

/** The one table from domain error codes to gRPC status codes. */
export const STATUS_BY_CODE: Record<ErrorCode, status> = {
  ERR_INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  ERR_IDEMPOTENCY_MISMATCH: status.INVALID_ARGUMENT,
  ERR_ROOM_NOT_FOUND: status.NOT_FOUND,
  ERR_PEER_NOT_FOUND: status.NOT_FOUND,
  ERR_MANAGEMENT_TOKEN_NOT_FOUND: status.NOT_FOUND,
  ERR_WEBHOOK_ENDPOINT_NOT_FOUND: status.NOT_FOUND,
  ERR_EVENT_NOT_FOUND: status.NOT_FOUND,
  ERR_BAN_NOT_FOUND: status.NOT_FOUND,
  ERR_ROLE_NOT_FOUND: status.NOT_FOUND,
  ERR_JOIN_CODE_NOT_FOUND: status.NOT_FOUND,
  ERR_UNSAFE_WEBHOOK_URL: status.INVALID_ARGUMENT,
  ERR_APP_URL_NOT_ALLOWED: status.INVALID_ARGUMENT,
  ERR_ROOM_NAME_TAKEN: status.ALREADY_EXISTS,
  ERR_PEER_IDENTITY_TAKEN: status.ALREADY_EXISTS,
  ERR_BAN_EXISTS: status.ALREADY_EXISTS,
  ERR_ROLE_EXISTS: status.ALREADY_EXISTS,
  ERR_ROOM_FULL: status.FAILED_PRECONDITION,
  ERR_IDEMPOTENT_TARGET_GONE: status.FAILED_PRECONDITION,
  ERR_PEER_SESSION_ENDED: status.FAILED_PRECONDITION,
  ERR_ROTATION_PENDING: status.FAILED_PRECONDITION,
  ERR_WEBHOOK_ENDPOINT_DISABLED: status.FAILED_PRECONDITION,
  ERR_EVENT_NOT_SUBSCRIBED: status.FAILED_PRECONDITION,
  ERR_IDENTITY_BANNED: status.FAILED_PRECONDITION,
  ERR_ROLE_IN_USE: status.FAILED_PRECONDITION,
  ERR_NO_APP_URL: status.FAILED_PRECONDITION,
  ERR_ROOM_QUOTA_EXCEEDED: status.RESOURCE_EXHAUSTED,
  ERR_WEBHOOK_ENDPOINT_QUOTA_EXCEEDED: status.RESOURCE_EXHAUSTED,
  ERR_BAN_QUOTA_EXCEEDED: status.RESOURCE_EXHAUSTED,
  ERR_WATCH_TOO_SLOW: status.RESOURCE_EXHAUSTED,
  // As etcd answers a watch on a compacted revision: the position is outside the kept range.
  ERR_EVENT_CURSOR_EXPIRED: status.OUT_OF_RANGE,
  ERR_WATCH_LIMIT_EXCEEDED: status.RESOURCE_EXHAUSTED,
  ERR_WEBHOOK_TEST_RATE_LIMITED: status.RESOURCE_EXHAUSTED,
  ERR_ROLE_QUOTA_EXCEEDED: status.RESOURCE_EXHAUSTED,
  ERR_JOIN_CODE_QUOTA_EXCEEDED: status.RESOURCE_EXHAUSTED,
  ERR_JOIN_RATE_LIMITED: status.RESOURCE_EXHAUSTED,
  ERR_SHUTTING_DOWN: status.UNAVAILABLE,
  ERR_UNAUTHENTICATED: status.UNAUTHENTICATED,
  ERR_JOIN_CODE_INVALID: status.UNAUTHENTICATED,
  ERR_PERMISSION_DENIED: status.PERMISSION_DENIED,
  ERR_DB_CONFLICT: status.ABORTED,
  ERR_DB_TIMEOUT: status.DEADLINE_EXCEEDED,
  ERR_DB_UNAVAILABLE: status.UNAVAILABLE,
  ERR_KEY_DECRYPTION_FAILED: status.INTERNAL,
};

/** Trailer carrying the stable domain error code next to the gRPC status (kept for callers that read it). */
export const ERROR_CODE_TRAILER = 'roomgate-error-code';

/**
 * Trailer carrying a serialized google.rpc.Status, which Go's
 * `status.FromError(err).Details()`, Python's `grpc_status.rpc_status.from_call`
 * and Java's `StatusProto.fromThrowable` decode.
 */
export const STATUS_DETAILS_TRAILER = 'grpc-status-details-bin';

/** `ErrorInfo.domain` of every roomgate error. */
export const ERROR_DOMAIN = 'roomgate';

/** `ErrorInfo.reason` (and `roomgate-error-code`) of an error that is the service's fault. */
export const INTERNAL_REASON = 'ERR_INTERNAL';

/** Whether the error is the service's fault, to be logged with its cause. */
export function isInternal(err: unknown): boolean {
  return !(err instanceof DomainError) || STATUS_BY_CODE[err.code] === status.INTERNAL;
}

/**
 * Turns any thrown value into the error sent to the client, with the
 * `roomgate-error-code` and `grpc-status-details-bin` trailers. Only a
 * DomainError's message, field and metadata leave the process; anything else
 * becomes INTERNAL with a fixed message and the bare reason ERR_INTERNAL, and
 * its details stay in the logs.
 */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof DomainError && STATUS_BY_CODE[err.code] !== status.INTERNAL) {
    const code = STATUS_BY_CODE[err.code];
    const details = [pack('google.rpc.ErrorInfo', ErrorInfo.encode(errorInfoOf(err)).finish())];
    if (code === status.INVALID_ARGUMENT && err.field !== undefined) {
      const violation = { field: err.field, description: err.problem, reason: '', localizedMessage: undefined };
      details.push(pack('google.rpc.BadRequest', BadRequest.encode({ fieldViolations: [violation] }).finish()));
    }
    // The standard retry hint, which gRPC clients read, beside the metadata key.
    const retryAfter = Number(err.metadata.retryAfterSeconds);
    if (retryAfter > 0) {
      details.push(pack('google.rpc.RetryInfo', RetryInfo.encode({ retryDelay: { seconds: String(retryAfter), nanos: 0 } }).finish()));
    }
    return { code, details: err.message, metadata: trailers(err.code, code, err.message, details) };
  }
  const message = 'internal error';
  const info = pack('google.rpc.ErrorInfo', ErrorInfo.encode({ reason: INTERNAL_REASON, domain: ERROR_DOMAIN, metadata: {} }).finish());
  return { code: status.INTERNAL, details: message, metadata: trailers(INTERNAL_REASON, status.INTERNAL, message, [info]) };
}

function errorInfoOf(err: DomainError): ErrorInfo {
  const metadata = { ...err.metadata, ...(err.field !== undefined && { field: err.field }) };
  return { reason: err.code, domain: ERROR_DOMAIN, metadata };
}

function pack(typeName: string, value: Uint8Array): Any {
  return { typeUrl: `type.googleapis.com/${typeName}`, value: Buffer.from(value) };
}

// The Status repeats code and message because readers compare them with the
// grpc-status and grpc-message trailers: Python's from_call raises when either
// differs, and Java's StatusProto when the code does.
function trailers(reason: string, code: status, message: string, details: Any[]): Metadata {
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_TRAILER, reason);
  metadata.set(STATUS_DETAILS_TRAILER, Buffer.from(Status.encode({ code, message, details }).finish()));
  return metadata;
}
