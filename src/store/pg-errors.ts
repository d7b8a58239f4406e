import { DomainError } from '../domain/errors.js';

// Which unique constraint means which caller mistake. Constraint names come
// from the migrations.
const UNIQUE_VIOLATIONS: Record<string, () => DomainError> = {
  rooms_environment_name_key: () => new DomainError('ERR_ROOM_NAME_TAKEN', 'a room with this name already exists'),
  peers_room_id_identity_key: () =>
    new DomainError('ERR_PEER_IDENTITY_TAKEN', 'a peer with this identity already exists in the room'),
};

// Node socket errors that mean "the database is not reachable right now".
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

/**
 * Maps a pg or socket error to a {@link DomainError} where one applies, keeping
 * the original as `cause` for the logs. Anything unrecognized is returned as
 * is and becomes INTERNAL.
 */
export function mapPgError(err: unknown): unknown {
  if (err instanceof DomainError || !(err instanceof Error)) return err;
  const e = err as Error & { code?: string; constraint?: string };
  const code = e.code ?? '';
  if (code === '23505') {
    const make = UNIQUE_VIOLATIONS[e.constraint ?? ''];
    if (make) return Object.assign(make(), { cause: err });
  }
  if (code === '40001' || code === '40P01') {
    return new DomainError('ERR_DB_CONFLICT', 'the request conflicted with a concurrent change; retry it', { cause: err });
  }
  if (code === '57014') {
    return new DomainError('ERR_DB_TIMEOUT', 'the database did not answer in time', { cause: err });
  }
  if (
    NETWORK_CODES.has(code) ||
    code.startsWith('08') || // connection exceptions
    code === '57P01' || code === '57P02' || code === '57P03' || // admin shutdown, crash shutdown, cannot connect now
    /timeout exceeded when trying to connect|Connection terminated|is not queryable/i.test(e.message)
  ) {
    return new DomainError('ERR_DB_UNAVAILABLE', 'the database is unavailable; retry later', { cause: err });
  }
  return err;
}

/**
 * A short name for why a connection failed, for log lines and messages: the
 * socket error code or SQLSTATE, else what pg-pool reports. Never the
 * connection string, which holds the password.
 */
export function connectErrorCode(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string' && e.code !== '') return e.code;
  const message = typeof e?.message === 'string' ? e.message : '';
  if (/timeout exceeded when trying to connect/i.test(message)) return 'connect timeout';
  if (/Connection terminated/i.test(message)) return 'connection terminated';
  return 'unknown error';
}

/**
 * Whether a failure to connect may pass by itself: the server is down,
 * starting or restarting, or its name does not resolve yet. A refused login
 * (28xxx) or a missing database (3D000) is not: retrying cannot fix the
 * configuration.
 */
export function isUnreachable(err: unknown): boolean {
  const mapped = mapPgError(err);
  return mapped instanceof DomainError && mapped.code === 'ERR_DB_UNAVAILABLE';
}
