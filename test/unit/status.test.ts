import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { DomainError, ERROR_CODES } from '../../src/domain/errors.js';
import { mapPgError } from '../../src/store/pg-errors.js';
import { ERROR_CODE_TRAILER, STATUS_BY_CODE, toServiceError } from '../../src/transport/status.js';

const EXPECTED: Record<string, status> = {
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

describe('status table', () => {
  it.each(ERROR_CODES)('maps %s', (code) => {
    expect(EXPECTED[code], `add ${code} to this test`).toBeDefined();
    expect(STATUS_BY_CODE[code]).toBe(EXPECTED[code]);
    const sent = toServiceError(new DomainError(code, 'something the caller can act on'));
    expect(sent.code).toBe(EXPECTED[code]);
    if (sent.code === status.INTERNAL) {
      expect(sent.details).toBe('internal error');
    } else {
      expect(sent.details).toBe('something the caller can act on');
      expect((sent.metadata as Metadata).get(ERROR_CODE_TRAILER)).toEqual([code]);
    }
  });

  it('sends nothing of an unexpected error but "internal error"', () => {
    const err = Object.assign(new Error('relation "rooms" does not exist at SELECT * FROM rooms'), { code: '42P01' });
    const sent = toServiceError(mapPgError(err));
    expect(sent).toMatchObject({ code: status.INTERNAL, details: 'internal error' });
    expect(toServiceError('a string').details).toBe('internal error');
  });
});

describe('pg error mapping', () => {
  const pgError = (code: string, extra: object = {}) => Object.assign(new Error('SQL text here'), { code, ...extra });
  const codeOf = (err: unknown) => (err as DomainError).code;

  it('maps unique violations by constraint', () => {
    expect(codeOf(mapPgError(pgError('23505', { constraint: 'rooms_environment_name_key' })))).toBe('ERR_ROOM_NAME_TAKEN');
    expect(codeOf(mapPgError(pgError('23505', { constraint: 'peers_room_id_identity_key' })))).toBe('ERR_PEER_IDENTITY_TAKEN');
  });

  it('maps serialization failures, deadlocks, timeouts and outages', () => {
    expect(codeOf(mapPgError(pgError('40001')))).toBe('ERR_DB_CONFLICT');
    expect(codeOf(mapPgError(pgError('40P01')))).toBe('ERR_DB_CONFLICT');
    expect(codeOf(mapPgError(pgError('57014')))).toBe('ERR_DB_TIMEOUT');
    expect(codeOf(mapPgError(pgError('ECONNREFUSED')))).toBe('ERR_DB_UNAVAILABLE');
    expect(codeOf(mapPgError(pgError('57P01')))).toBe('ERR_DB_UNAVAILABLE');
    expect(codeOf(mapPgError(new Error('timeout exceeded when trying to connect')))).toBe('ERR_DB_UNAVAILABLE');
  });

  it('keeps the SQL out of the message', () => {
    const mapped = mapPgError(pgError('57014')) as DomainError;
    expect(mapped.message).not.toContain('SQL');
    expect((mapped.cause as Error).message).toBe('SQL text here');
  });
});
