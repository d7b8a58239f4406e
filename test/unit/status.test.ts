import { readFileSync } from 'node:fs';
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { DomainError, ERROR_CODES, invalidArgument } from '../../src/domain/errors.js';
import { ensureCan } from '../../src/domain/permissions.js';
import type { Principal } from '../../src/domain/principal.js';
import { mapPgError } from '../../src/store/pg-errors.js';
import { ERROR_CODE_TRAILER, STATUS_BY_CODE, STATUS_DETAILS_TRAILER, toServiceError } from '../../src/transport/status.js';
import { statusDetailsOf } from '../support/status-details.js';

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
  ERR_EVENT_NOT_SUBSCRIBED: status.FAILED_PRECONDITION,
  ERR_ROOM_QUOTA_EXCEEDED: status.RESOURCE_EXHAUSTED,
  ERR_WEBHOOK_ENDPOINT_QUOTA_EXCEEDED: status.RESOURCE_EXHAUSTED,
  ERR_WATCH_TOO_SLOW: status.RESOURCE_EXHAUSTED,
  ERR_EVENT_CURSOR_EXPIRED: status.OUT_OF_RANGE,
  ERR_WATCH_LIMIT_EXCEEDED: status.RESOURCE_EXHAUSTED,
  ERR_WEBHOOK_TEST_RATE_LIMITED: status.RESOURCE_EXHAUSTED,
  ERR_SHUTTING_DOWN: status.UNAVAILABLE,
  ERR_UNAUTHENTICATED: status.UNAUTHENTICATED,
  ERR_PERMISSION_DENIED: status.PERMISSION_DENIED,
  ERR_DB_CONFLICT: status.ABORTED,
  ERR_DB_TIMEOUT: status.DEADLINE_EXCEEDED,
  ERR_DB_UNAVAILABLE: status.UNAVAILABLE,
  ERR_KEY_DECRYPTION_FAILED: status.INTERNAL,
  ERR_BAN_NOT_FOUND: status.NOT_FOUND,
  ERR_ROLE_NOT_FOUND: status.NOT_FOUND,
  ERR_JOIN_CODE_NOT_FOUND: status.NOT_FOUND,
  ERR_APP_URL_NOT_ALLOWED: status.INVALID_ARGUMENT,
  ERR_ROLE_EXISTS: status.ALREADY_EXISTS,
  ERR_ROLE_IN_USE: status.FAILED_PRECONDITION,
  ERR_NO_APP_URL: status.FAILED_PRECONDITION,
  ERR_ROLE_QUOTA_EXCEEDED: status.RESOURCE_EXHAUSTED,
  ERR_JOIN_CODE_QUOTA_EXCEEDED: status.RESOURCE_EXHAUSTED,
  ERR_JOIN_RATE_LIMITED: status.RESOURCE_EXHAUSTED,
  ERR_JOIN_CODE_INVALID: status.UNAUTHENTICATED,
  ERR_BAN_EXISTS: status.ALREADY_EXISTS,
  ERR_IDENTITY_BANNED: status.FAILED_PRECONDITION,
  ERR_BAN_QUOTA_EXCEEDED: status.RESOURCE_EXHAUSTED,
};

const detailsOf = (sent: ReturnType<typeof toServiceError>) => statusDetailsOf(sent.metadata);

describe('status table', () => {
  it.each(ERROR_CODES)('maps %s', (code) => {
    expect(EXPECTED[code], `add ${code} to this test`).toBeDefined();
    expect(STATUS_BY_CODE[code]).toBe(EXPECTED[code]);
    const sent = toServiceError(
      new DomainError(code, 'something the caller can act on', { cause: new Error('SELECT secret'), metadata: { hint: 'x' } }),
    );
    expect(sent.code).toBe(EXPECTED[code]);
    const details = detailsOf(sent);
    if (sent.code === status.INTERNAL) {
      expect(sent.details).toBe('internal error');
      expect((sent.metadata as Metadata).get(ERROR_CODE_TRAILER)).toEqual(['ERR_INTERNAL']);
      expect(details.status).toMatchObject({ code: status.INTERNAL, message: 'internal error' });
      expect(details.typeUrls).toEqual(['type.googleapis.com/google.rpc.ErrorInfo']);
      expect(details.errorInfo).toEqual([{ reason: 'ERR_INTERNAL', domain: 'roomgate', metadata: {} }]);
    } else {
      expect(sent.details).toBe('something the caller can act on');
      expect((sent.metadata as Metadata).get(ERROR_CODE_TRAILER)).toEqual([code]);
      expect(details.status).toMatchObject({ code: EXPECTED[code], message: 'something the caller can act on' });
      expect(details.errorInfo).toEqual([{ reason: code, domain: 'roomgate', metadata: { hint: 'x' } }]);
      // No field, so no BadRequest, even for INVALID_ARGUMENT codes.
      expect(details.typeUrls).toEqual(['type.googleapis.com/google.rpc.ErrorInfo']);
    }
  });

  it('names the field of an INVALID_ARGUMENT in ErrorInfo metadata and in a BadRequest field violation', () => {
    const sent = toServiceError(invalidArgument('max_peers', 'must be between 0 (unlimited) and 2147483647'));
    expect(sent).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'max_peers: must be between 0 (unlimited) and 2147483647' });
    const details = detailsOf(sent);
    expect(details.errorInfo).toEqual([{ reason: 'ERR_INVALID_ARGUMENT', domain: 'roomgate', metadata: { field: 'max_peers' } }]);
    expect(details.badRequest).toHaveLength(1);
    expect(details.badRequest[0]!.fieldViolations).toMatchObject([
      { field: 'max_peers', description: 'must be between 0 (unlimited) and 2147483647' },
    ]);
  });

  it('sends a BadRequest for any INVALID_ARGUMENT code with a field, and none for other statuses', () => {
    const unsafe = new DomainError('ERR_UNSAFE_WEBHOOK_URL', 'url: localhost resolves to a loopback address', {
      field: 'url',
      metadata: { addressClass: 'loopback' },
    });
    const details = detailsOf(toServiceError(unsafe));
    expect(details.errorInfo[0]!.metadata).toEqual({ addressClass: 'loopback', field: 'url' });
    expect(details.badRequest[0]!.fieldViolations).toMatchObject([{ field: 'url', description: 'localhost resolves to a loopback address' }]);

    const full = detailsOf(toServiceError(new DomainError('ERR_ROOM_FULL', 'the room is full', { field: 'room_id' })));
    expect(full.badRequest).toEqual([]);
    expect(full.errorInfo[0]!.metadata).toEqual({ field: 'room_id' });
  });

  it('names the missing scope of a PERMISSION_DENIED', () => {
    const reader: Principal = { kind: 'management', environment: 'sandbox', tokenId: 't', scopes: ['read'] };
    let thrown: unknown;
    try {
      ensureCan(reader, 'room:create');
    } catch (err) {
      thrown = err;
    }
    const details = detailsOf(toServiceError(thrown));
    expect(details.status.code).toBe(status.PERMISSION_DENIED);
    expect(details.errorInfo).toEqual([
      {
        reason: 'ERR_PERMISSION_DENIED',
        domain: 'roomgate',
        metadata: { action: 'room:create', requiredScope: 'rooms', allowedScopes: 'rooms,admin' },
      },
    ]);
  });

  it('sends nothing of an unexpected error but "internal error" and the reason ERR_INTERNAL', () => {
    const err = Object.assign(new Error('relation "rooms" does not exist at SELECT * FROM rooms'), { code: '42P01' });
    for (const thrown of [mapPgError(err), err, 'a string', new DomainError('ERR_KEY_DECRYPTION_FAILED', 'key k1 is bad', { field: 'x' })]) {
      const sent = toServiceError(thrown);
      expect(sent).toMatchObject({ code: status.INTERNAL, details: 'internal error' });
      const details = detailsOf(sent);
      expect(details.status).toEqual({
        code: status.INTERNAL,
        message: 'internal error',
        details: [{ typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: expect.anything() }],
      });
      expect(details.errorInfo).toEqual([{ reason: 'ERR_INTERNAL', domain: 'roomgate', metadata: {} }]);
      const trailer = ((sent.metadata as Metadata).get(STATUS_DETAILS_TRAILER)[0] as Buffer).toString('latin1');
      expect(trailer).not.toMatch(/relation|rooms|SELECT|42P01|k1 is bad|a string/);
    }
  });
});

describe('docs/errors.md', () => {
  it('lists every code under the status the table maps it to', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Codes'), doc.indexOf('## Reading the details'));
    const documented = new Map<string, string>();
    for (const [, name, codes] of section.matchAll(/^\| ([A-Z_]+) \| ([^|]+) \|/gm)) {
      for (const [, code] of codes!.matchAll(/`(ERR_[A-Z_]+)`/g)) documented.set(code!, name!);
    }
    const expected = new Map(ERROR_CODES.map((code) => [code, status[STATUS_BY_CODE[code]]]));
    expected.set('ERR_INTERNAL' as never, 'INTERNAL');
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(expected));
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
