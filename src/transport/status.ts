import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { DomainError, type ErrorCode } from '../domain/errors.js';

/** The one table from domain error codes to gRPC status codes. */
export const STATUS_BY_CODE: Record<ErrorCode, status> = {
  ERR_INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  ERR_IDEMPOTENCY_MISMATCH: status.INVALID_ARGUMENT,
  ERR_ROOM_NOT_FOUND: status.NOT_FOUND,
  ERR_PEER_NOT_FOUND: status.NOT_FOUND,
  ERR_MANAGEMENT_TOKEN_NOT_FOUND: status.NOT_FOUND,
  ERR_WEBHOOK_ENDPOINT_NOT_FOUND: status.NOT_FOUND,
  ERR_EVENT_NOT_FOUND: status.NOT_FOUND,
  ERR_UNSAFE_WEBHOOK_URL: status.INVALID_ARGUMENT,
  ERR_ROOM_NAME_TAKEN: status.ALREADY_EXISTS,
  ERR_PEER_IDENTITY_TAKEN: status.ALREADY_EXISTS,
  ERR_ROOM_FULL: status.FAILED_PRECONDITION,
  ERR_IDEMPOTENT_TARGET_GONE: status.FAILED_PRECONDITION,
  ERR_PEER_SESSION_ENDED: status.FAILED_PRECONDITION,
  ERR_ROTATION_PENDING: status.FAILED_PRECONDITION,
  ERR_WEBHOOK_ENDPOINT_DISABLED: status.FAILED_PRECONDITION,
  ERR_ROOM_QUOTA_EXCEEDED: status.RESOURCE_EXHAUSTED,
  ERR_WATCH_TOO_SLOW: status.RESOURCE_EXHAUSTED,
  ERR_SHUTTING_DOWN: status.UNAVAILABLE,
  ERR_UNAUTHENTICATED: status.UNAUTHENTICATED,
  ERR_PERMISSION_DENIED: status.PERMISSION_DENIED,
  ERR_DB_CONFLICT: status.ABORTED,
  ERR_DB_TIMEOUT: status.DEADLINE_EXCEEDED,
  ERR_DB_UNAVAILABLE: status.UNAVAILABLE,
  ERR_KEY_DECRYPTION_FAILED: status.INTERNAL,
};

/** Trailer carrying the stable domain error code next to the gRPC status. */
export const ERROR_CODE_TRAILER = 'roomgate-error-code';

/** Whether the error is the service's fault, to be logged with its cause. */
export function isInternal(err: unknown): boolean {
  return !(err instanceof DomainError) || STATUS_BY_CODE[err.code] === status.INTERNAL;
}

/**
 * Turns any thrown value into the error sent to the client. Only a
 * DomainError's message leaves the process; anything else becomes INTERNAL
 * with a fixed message, and its details stay in the logs.
 */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (err instanceof DomainError && STATUS_BY_CODE[err.code] !== status.INTERNAL) {
    metadata.set(ERROR_CODE_TRAILER, err.code);
    return { code: STATUS_BY_CODE[err.code], details: err.message, metadata };
  }
  metadata.set(ERROR_CODE_TRAILER, 'ERR_INTERNAL');
  return { code: status.INTERNAL, details: 'internal error', metadata };
}
