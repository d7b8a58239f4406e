// gRPC-Web on the public HTTP listener of a real roomgate (startRoomgate on a
// database of this file's own), called by a client nobody here wrote:
// @connectrpc/connect-web's createGrpcWebTransport, over fetch, with the
// protobuf-es stubs the console uses. Each call goes through the bridge to the
// same gRPC handlers a native caller reaches.
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestSchema, ErrorInfoSchema } from '../../console/src/gen/google/rpc/error_details_pb.js';
import { AuditService } from '../../console/src/gen/roomgate/v1/audit_service_pb.js';
import { EventService } from '../../console/src/gen/roomgate/v1/event_service_pb.js';
import { EventType } from '../../console/src/gen/roomgate/v1/events_pb.js';
import { PeerService } from '../../console/src/gen/roomgate/v1/peer_service_pb.js';
import { RoomService } from '../../console/src/gen/roomgate/v1/room_service_pb.js';
import { TokenService } from '../../console/src/gen/roomgate/v1/token_service_pb.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let admin: string;
let rooms: Client<typeof RoomService>;
let peers: Client<typeof PeerService>;
let tokens: Client<typeof TokenService>;
let events: Client<typeof EventService>;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The ConnectError `promise` fails with. */
async function connectError(promise: Promise<unknown>): Promise<ConnectError> {
  const err = await promise.then(
    (value) => {
      throw new Error(`expected an error, got ${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken();
  const transport = createGrpcWebTransport({ baseUrl: t.httpUrl });
  rooms = createClient(RoomService, transport);
  peers = createClient(PeerService, transport);
  tokens = createClient(TokenService, transport);
  events = createClient(EventService, transport);
});
afterAll(() => t?.close());

describe('gRPC-Web through connect-web', () => {
  it('runs unary calls: CreateRoom, then GetRoom sees the same room, and so does a native call', async () => {
    const created = await rooms.createRoom({ name: 'web-room', maxPeers: 7 }, { headers: bearer(admin) });
    expect(created.room?.name).toBe('web-room');
    const got = await rooms.getRoom({ roomId: created.room!.id }, { headers: bearer(admin) });
    expect(got.room).toMatchObject({ id: created.room!.id, name: 'web-room', maxPeers: 7 });
    const native = await t.client.rooms.getRoom({ roomId: created.room!.id }, { token: admin });
    expect(native.room?.name).toBe('web-room');
  });

  it('streams WatchEvents: the roomgate-start-cursor header, then an event committed after the start', async () => {
    const abort = new AbortController();
    let startCursor: string | null = null;
    let onSubscribed!: () => void;
    const subscribed = new Promise<void>((resolve) => (onSubscribed = resolve));
    const stream = events.watchEvents(
      { types: [EventType.ROOM_CREATED] },
      { headers: bearer(admin), signal: abort.signal, onHeader: (h) => ((startCursor = h.get('roomgate-start-cursor')), onSubscribed()) },
    )[Symbol.asyncIterator]();
    const first = stream.next();
    await subscribed;
    expect(startCursor).toMatch(/^\S{10,}$/);
    const roomId = (await t.client.rooms.createRoom({ name: 'watched-from-web' }, { token: admin })).room!.id;
    // A watch from now may also deliver events committed just before it started.
    for (let next = first; ; next = stream.next()) {
      const { value, done } = await next;
      expect(done).toBe(false);
      if (value.event?.roomId !== roomId) continue;
      expect(value.event).toMatchObject({ type: EventType.ROOM_CREATED, roomId });
      break;
    }
    abort.abort();
  });

  it('carries an error with its details: ErrorInfo with the roomgate code, and BadRequest naming the field', async () => {
    const missing = await connectError(rooms.getRoom({ roomId: '00000000-0000-4000-8000-000000000000' }, { headers: bearer(admin) }));
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: 'ERR_ROOM_NOT_FOUND', domain: 'roomgate' });
    expect(missing.metadata.get('roomgate-error-code')).toBe('ERR_ROOM_NOT_FOUND');

    const bad = await connectError(rooms.createRoom({ name: 'bad-metadata', metadata: '{not json' }, { headers: bearer(admin) }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toBe('metadata: must be valid JSON text');
    expect(bad.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: 'ERR_INVALID_ARGUMENT', metadata: { field: 'metadata' } });
    const violations = bad.findDetails(BadRequestSchema)[0]?.fieldViolations ?? [];
    expect(violations).toMatchObject([{ field: 'metadata', description: 'must be valid JSON text' }]);
  });

  it('takes a peer token: RefreshPeerToken with the peer token of a peer', async () => {
    const room = (await t.client.rooms.createRoom({ name: 'peer-token-room' }, { token: admin })).room!;
    const peer = await peers.createPeer({ roomId: room.id, identity: 'alice' }, { headers: bearer(admin) });
    const refreshed = await tokens.refreshPeerToken({}, { headers: bearer(peer.peerToken) });
    expect(refreshed.peerToken).toMatch(/^eyJ/);
    expect(refreshed.peerToken).not.toBe(peer.peerToken);
  });
});

describe('gRPC-Web calls keep the semantics of native ones', () => {
  it('echoes x-request-id in the response headers, and the server logs the call under it', async () => {
    let echoed: string | null = null;
    await rooms.listRooms({}, { headers: { ...bearer(admin), 'x-request-id': 'web-req-42' }, onHeader: (h) => (echoed = h.get('x-request-id')) });
    expect(echoed).toBe('web-req-42');
    const line = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === 'web-req-42');
    expect(line).toMatchObject({ method: 'ListRooms', code: 0, environment: 'sandbox' });
  });

  it('ends a WatchEvents past its timeout with DEADLINE_EXCEEDED', async () => {
    const stream = events.watchEvents({}, { headers: bearer(admin), timeoutMs: 300 });
    const err = await connectError(
      (async () => {
        for await (const message of stream) void message;
      })(),
    );
    expect(err.code).toBe(Code.DeadlineExceeded);
  });

  it('refuses CreateRoom to a read token with PERMISSION_DENIED and the roomgate code', async () => {
    const reader = await t.managementToken('sandbox', ['read']);
    const err = await connectError(rooms.createRoom({ name: 'not-allowed' }, { headers: bearer(reader) }));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe('ERR_PERMISSION_DENIED');
    // The same token may read.
    expect((await rooms.listRooms({}, { headers: bearer(reader) })).rooms.length).toBeGreaterThan(0);
  });

  it('refuses a call without a token, or with a bad one, with UNAUTHENTICATED', async () => {
    const none = await connectError(rooms.listRooms({}));
    expect(none.code).toBe(Code.Unauthenticated);
    expect(none.findDetails(ErrorInfoSchema)[0]?.reason).toBe('ERR_UNAUTHENTICATED');
    const bad = await connectError(rooms.listRooms({}, { headers: bearer('rg_not_a_real_token') }));
    expect(bad.code).toBe(Code.Unauthenticated);
  });

  it('leaves the same audit record as a native call, with the request id, readable through AuditService over gRPC-Web too', async () => {
    const audit = createClient(AuditService, createGrpcWebTransport({ baseUrl: t.httpUrl }));
    const { room } = await rooms.createRoom({ name: 'audited-from-web' }, { headers: { ...bearer(admin), 'x-request-id': 'web-audit-1' } });
    const { auditEvents } = await audit.listAuditEvents({ targetId: room!.id }, { headers: bearer(admin) });
    expect(auditEvents).toHaveLength(1);
    expect(auditEvents[0]).toMatchObject({ method: 'roomgate.v1.RoomService/CreateRoom', requestId: 'web-audit-1', result: 'OK' });
  });

  it('answers GetJwks, which needs no token, with the JWKS the HTTP route serves', async () => {
    const { jwksJson } = await tokens.getJwks({});
    expect(jwksJson).toBe(await (await fetch(`${t.httpUrl}/.well-known/jwks.json`)).text());
  });
});
