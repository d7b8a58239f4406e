// Issue 11: errors as Go, Python and Java callers read them. Every failed call
// carries a grpc-status-details-bin trailer (google.rpc.Status with an
// ErrorInfo, plus a BadRequest for a field error) next to roomgate-error-code.
// Checked over a real socket against startTestRoomgate (a database of this
// file's own, see test/support/database.ts), decoding the trailer from the
// ServiceError's metadata with the generated google.rpc decoders, for unary
// calls and for the WatchEvents stream.
import { status, type ServiceError } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType } from '../../src/gen/roomgate/v1/events.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';
import { Watch } from '../support/watch.js';

let t: TestRoomgate;
let admin: string;
let roomId: string;
const as = (token: string) => ({ token });

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken('sandbox');
  roomId = (await t.client.rooms.createRoom({ maxPeers: 1 }, as(admin))).room!.id;
});
afterAll(async () => {
  await t?.close();
});

/** The trailer's Status must agree with the call's status, as Python's from_call and Java's StatusProto insist. */
function detailsOf(err: ServiceError) {
  const details = statusDetailsOf(err.metadata);
  expect(details.status).toMatchObject({ code: err.code, message: err.details });
  expect(err.metadata.get('roomgate-error-code')).toEqual([details.errorInfo[0]?.reason]);
  return details;
}

describe('grpc-status-details-bin on unary calls', () => {
  it('names the field of a bad CreateRoom in ErrorInfo and a BadRequest field violation', async () => {
    const err = await expectStatus(t.client.rooms.createRoom({ maxPeers: 3_000_000_000 }, as(admin)), status.INVALID_ARGUMENT);
    const details = detailsOf(err);
    expect(details.typeUrls).toEqual(['type.googleapis.com/google.rpc.ErrorInfo', 'type.googleapis.com/google.rpc.BadRequest']);
    expect(details.errorInfo).toEqual([{ reason: 'ERR_INVALID_ARGUMENT', domain: 'roomgate', metadata: { field: 'max_peers' } }]);
    expect(details.badRequest[0]!.fieldViolations).toMatchObject([
      { field: 'max_peers', description: 'must be between 0 (unlimited) and 2147483647' },
    ]);
  });

  it.each([
    ['room_id', { roomId: 'not-a-uuid' }, 'must be a UUID such as 3f2b8c1e-7a4d-4e3b-9f6a-1c2d3e4f5a6b'],
    ['identity', { identity: 'bell\u0007' }, 'must not contain control characters or invalid Unicode'],
    ['metadata', { metadata: '{not json' }, 'must be valid JSON text'],
    ['request_id', { requestId: 'has space' }, 'must be 1-128 printable ASCII characters without spaces'],
  ])('names %s of a bad CreatePeer', async (field, over, description) => {
    const err = await expectStatus(t.client.peers.createPeer({ roomId, identity: 'x', ...over }, as(admin)), status.INVALID_ARGUMENT);
    const details = detailsOf(err);
    expect(details.errorInfo[0]).toEqual({ reason: 'ERR_INVALID_ARGUMENT', domain: 'roomgate', metadata: { field } });
    expect(details.badRequest[0]!.fieldViolations).toMatchObject([{ field, description }]);
    expect(err.details).toBe(`${field}: ${description}`);
  });

  it('names request_id when a request_id is reused with other parameters', async () => {
    const requestId = randomUUID();
    await t.client.rooms.createRoom({ requestId, metadata: '{"a":1}' }, as(admin));
    const err = await expectStatus(t.client.rooms.createRoom({ requestId, metadata: '{"a":2}' }, as(admin)), status.INVALID_ARGUMENT);
    const details = detailsOf(err);
    expect(details.errorInfo).toEqual([{ reason: 'ERR_IDEMPOTENCY_MISMATCH', domain: 'roomgate', metadata: { field: 'request_id' } }]);
    expect(details.badRequest[0]!.fieldViolations).toMatchObject([
      { field: 'request_id', description: 'was already used with different parameters; use a new request_id for a new request' },
    ]);
  });

  it('names the missing scope of a management token refused with PERMISSION_DENIED', async () => {
    const reader = await t.managementToken('sandbox', ['read']);
    const err = await expectStatus(t.client.rooms.createRoom({}, as(reader)), status.PERMISSION_DENIED);
    const details = detailsOf(err);
    expect(details.typeUrls).toEqual(['type.googleapis.com/google.rpc.ErrorInfo']);
    expect(details.errorInfo).toEqual([
      {
        reason: 'ERR_PERMISSION_DENIED',
        domain: 'roomgate',
        metadata: { action: 'room:create', requiredScope: 'rooms', allowedScopes: 'rooms,admin' },
      },
    ]);
  });

  it('names the peer permission a peer token lacks', async () => {
    const { peerToken } = await t.client.peers.createPeer({ roomId, identity: `p-${randomUUID()}` }, as(admin));
    const err = await expectStatus(t.client.rooms.updateRoom({ roomId, metadata: '{}' }, as(peerToken)), status.PERMISSION_DENIED);
    expect(detailsOf(err).errorInfo[0]).toEqual({
      reason: 'ERR_PERMISSION_DENIED',
      domain: 'roomgate',
      metadata: { action: 'room:update-metadata', requiredPermission: 'can_update_room' },
    });
  });

  it('carries the reason of errors that concern no field, with no BadRequest', async () => {
    const missing = await expectStatus(t.client.rooms.getRoom({ roomId: randomUUID() }, as(admin)), status.NOT_FOUND);
    expect(detailsOf(missing)).toMatchObject({
      typeUrls: ['type.googleapis.com/google.rpc.ErrorInfo'],
      errorInfo: [{ reason: 'ERR_ROOM_NOT_FOUND', domain: 'roomgate', metadata: {} }],
    });
    const nothing = await expectStatus(t.client.rooms.updateRoom({ roomId }, as(admin)), status.INVALID_ARGUMENT, /^nothing to update/);
    expect(detailsOf(nothing)).toMatchObject({ badRequest: [], errorInfo: [{ reason: 'ERR_INVALID_ARGUMENT', metadata: {} }] });
    const unknown = await expectStatus(t.client.rooms.getRoom({ roomId }, as(`rg_sandbox_${'0'.repeat(32)}`)), status.UNAUTHENTICATED);
    expect(detailsOf(unknown).errorInfo[0]).toMatchObject({ reason: 'ERR_UNAUTHENTICATED', domain: 'roomgate' });
    await t.client.peers.createPeer({ roomId, identity: 'second' }, as(admin)).catch(() => undefined);
    const full = await expectStatus(t.client.peers.createPeer({ roomId, identity: 'third' }, as(admin)), status.FAILED_PRECONDITION);
    expect(detailsOf(full).errorInfo[0]).toMatchObject({ reason: 'ERR_ROOM_FULL', domain: 'roomgate' });
  });

  it('names the setting that allows http webhook URLs for local development', async () => {
    const err = await expectStatus(t.client.events.createWebhookEndpoint({ url: 'http://hooks.example.com/in' }, as(admin)), status.INVALID_ARGUMENT);
    expect(err.details).toBe('url: must use https (ROOMGATE_WEBHOOK_ALLOW_HTTP=true allows http for local development)');
    const details = detailsOf(err);
    expect(details.errorInfo[0]!.metadata).toEqual({ field: 'url', setting: 'ROOMGATE_WEBHOOK_ALLOW_HTTP' });
    expect(details.badRequest[0]!.fieldViolations).toMatchObject([
      { field: 'url', description: 'must use https (ROOMGATE_WEBHOOK_ALLOW_HTTP=true allows http for local development)' },
    ]);
  });
});

describe('grpc-status-details-bin on the WatchEvents stream', () => {
  it('names the field of a bad after_cursor', async () => {
    const err = await new Watch(t.client.eventStream, { afterCursor: 'garbage' }, admin).ended();
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    const details = detailsOf(err);
    expect(details.errorInfo).toEqual([{ reason: 'ERR_INVALID_ARGUMENT', domain: 'roomgate', metadata: { field: 'after_cursor' } }]);
    expect(details.badRequest[0]!.fieldViolations).toMatchObject([
      { field: 'after_cursor', description: 'is not a cursor returned by this service (Event.cursor)' },
    ]);
  });

  it('names the missing scope of a token refused with PERMISSION_DENIED', async () => {
    // Scope verify may watch the revocation types only.
    const asked = { types: [EventType.EVENT_TYPE_ROOM_CREATED] };
    const err = await new Watch(t.client.eventStream, asked, await t.managementToken('sandbox', ['verify'])).ended();
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(detailsOf(err).errorInfo[0]).toEqual({
      reason: 'ERR_PERMISSION_DENIED',
      domain: 'roomgate',
      metadata: { action: 'event:watch-all', requiredScope: 'rooms', allowedScopes: 'rooms,read,admin' },
    });
  });
});

