/**
 * Stable error codes of the domain. Transport maps each to one gRPC status in
 * src/transport/status.ts; callers also see the code in the `roomgate-error-code`
 * trailer, so they can branch on it without parsing messages.
 */
export const ERROR_CODES = [
  'ERR_INVALID_ARGUMENT',
  'ERR_IDEMPOTENCY_MISMATCH',
  'ERR_ROOM_NOT_FOUND',
  'ERR_PEER_NOT_FOUND',
  'ERR_MANAGEMENT_TOKEN_NOT_FOUND',
  'ERR_WEBHOOK_ENDPOINT_NOT_FOUND',
  'ERR_EVENT_NOT_FOUND',
  'ERR_UNSAFE_WEBHOOK_URL',
  'ERR_ROOM_NAME_TAKEN',
  'ERR_PEER_IDENTITY_TAKEN',
  'ERR_ROOM_FULL',
  'ERR_IDEMPOTENT_TARGET_GONE',
  'ERR_PEER_SESSION_ENDED',
  'ERR_ROTATION_PENDING',
  'ERR_WEBHOOK_ENDPOINT_DISABLED',
  'ERR_ROOM_QUOTA_EXCEEDED',
  'ERR_WATCH_TOO_SLOW',
  'ERR_SHUTTING_DOWN',
  'ERR_UNAUTHENTICATED',
  'ERR_PERMISSION_DENIED',
  'ERR_DB_CONFLICT',
  'ERR_DB_TIMEOUT',
  'ERR_DB_UNAVAILABLE',
  'ERR_KEY_DECRYPTION_FAILED',
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * An error the caller can act on. Its message is sent to the client, so it must
 * never contain SQL, stack traces, tokens or other internals; `cause` is for the
 * logs only.
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Shorthand for an INVALID_ARGUMENT-class error about one request field. */
export function invalidArgument(field: string, problem: string): DomainError {
  return new DomainError('ERR_INVALID_ARGUMENT', `${field}: ${problem}`);
}

/** Throws `err`; lets `??` end an expression with a throw. */
export function throwIt(err: Error): never {
  throw err;
}
