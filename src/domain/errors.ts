/**
 * Stable error codes of the domain. Transport maps each to one gRPC status in
 * src/transport/status.ts; callers also see the code as the google.rpc.ErrorInfo
 * reason in `grpc-status-details-bin` and in the `roomgate-error-code` trailer,
 * so they can branch on it without parsing messages (docs/errors.md).
 */
export const ERROR_CODES = [
  'ERR_INVALID_ARGUMENT',
  'ERR_IDEMPOTENCY_MISMATCH',
  'ERR_ROOM_NOT_FOUND',
  'ERR_PEER_NOT_FOUND',
  'ERR_MANAGEMENT_TOKEN_NOT_FOUND',
  'ERR_WEBHOOK_ENDPOINT_NOT_FOUND',
  'ERR_EVENT_NOT_FOUND',
  'ERR_BAN_NOT_FOUND',
  'ERR_ROLE_NOT_FOUND',
  'ERR_JOIN_CODE_NOT_FOUND',
  'ERR_UNSAFE_WEBHOOK_URL',
  'ERR_APP_URL_NOT_ALLOWED',
  'ERR_ROOM_NAME_TAKEN',
  'ERR_PEER_IDENTITY_TAKEN',
  'ERR_BAN_EXISTS',
  'ERR_ROLE_EXISTS',
  'ERR_ROOM_FULL',
  'ERR_IDEMPOTENT_TARGET_GONE',
  'ERR_PEER_SESSION_ENDED',
  'ERR_ROTATION_PENDING',
  'ERR_WEBHOOK_ENDPOINT_DISABLED',
  'ERR_EVENT_NOT_SUBSCRIBED',
  'ERR_IDENTITY_BANNED',
  'ERR_ROLE_IN_USE',
  'ERR_NO_APP_URL',
  'ERR_ROOM_QUOTA_EXCEEDED',
  'ERR_WEBHOOK_ENDPOINT_QUOTA_EXCEEDED',
  'ERR_BAN_QUOTA_EXCEEDED',
  'ERR_WATCH_TOO_SLOW',
  'ERR_EVENT_CURSOR_EXPIRED',
  'ERR_WATCH_LIMIT_EXCEEDED',
  'ERR_WEBHOOK_TEST_RATE_LIMITED',
  'ERR_ROLE_QUOTA_EXCEEDED',
  'ERR_JOIN_CODE_QUOTA_EXCEEDED',
  'ERR_JOIN_RATE_LIMITED',
  'ERR_SHUTTING_DOWN',
  'ERR_UNAUTHENTICATED',
  'ERR_JOIN_CODE_INVALID',
  'ERR_PERMISSION_DENIED',
  'ERR_DB_CONFLICT',
  'ERR_DB_TIMEOUT',
  'ERR_DB_UNAVAILABLE',
  'ERR_KEY_DECRYPTION_FAILED',
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Facts about a {@link DomainError} that callers read as data rather than from
 * the message: transport sends them as google.rpc error details.
 */
export interface ErrorFacts {
  /**
   * The request field the error is about, as the caller spells it in the proto
   * (snake_case, nested fields joined with dots, e.g. `permissions.can_publish`).
   */
  field?: string;
  /** Further facts as lowerCamelCase keys, e.g. `{ requiredScope: 'rooms' }`; never secrets or internals. */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * An error the caller can act on. Its message is sent to the client, so it must
 * never contain SQL, stack traces, tokens or other internals; `cause` is for the
 * logs only. `field` and `metadata` state the same facts as the message in a
 * form programs can read; they obey the same rule.
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  /** See {@link ErrorFacts.field}. */
  readonly field: string | undefined;
  /** See {@link ErrorFacts.metadata}; empty when there is nothing to add. */
  readonly metadata: Readonly<Record<string, string>>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown } & ErrorFacts,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = options?.field;
    this.metadata = options?.metadata ?? {};
  }

  /**
   * What is wrong with {@link field}, without the `field: ` prefix the message
   * starts with; the whole message when there is no such prefix.
   */
  get problem(): string {
    const prefix = `${this.field}: `;
    return this.field !== undefined && this.message.startsWith(prefix) ? this.message.slice(prefix.length) : this.message;
  }
}

/**
 * Shorthand for an INVALID_ARGUMENT-class error about one request field: the
 * message reads `field: problem`, and the field travels as data too.
 */
export function invalidArgument(field: string, problem: string, metadata?: Readonly<Record<string, string>>): DomainError {
  return new DomainError('ERR_INVALID_ARGUMENT', `${field}: ${problem}`, { field, ...(metadata && { metadata }) });
}

/** Throws `err`; lets `??` end an expression with a throw. */
export function throwIt(err: Error): never {
  throw err;
}
