// WatchEvents over real gRPC and Postgres, served by a full roomgate
// (startTestRoomgate, on this file's own database) that also takes the writes.
// A test that needs a small backlog, or a restart, starts more roomgates on
// the same database (startTestRoomgate's `sharing`): one with
// ROOMGATE_WATCH_MAX_BACKLOG at its minimum, or one it closes and another it
// starts in its place while the data stays.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventServiceClient, WatchEventsRequest } from '../../src/gen/roomgate/v1/event_service.js';
import { EventType, type Event } from '../../src/gen/roomgate/v1/events.js';
import { PeerStatus } from '../../src/gen/roomgate/v1/resources.js';
import { appendEvent, nextRoomSeq } from '../../src/store/outbox.js';
import { withTransaction } from '../../src/store/pool.js';
import { PgRoomStore } from '../../src/store/room-store.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { stallingProxy } from '../support/stalling-proxy.js';
import { statusDetailsOf } from '../support/status-details.js';
import { Watch } from '../support/watch.js';

let t: TestRoomgate;
let admin: string;
/** The EventService client of `t`, which serves WatchEvents. */
let main: EventServiceClient;

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken('sandbox');
  main = t.client.eventStream;
});
afterAll(() => t?.close());

const as = (token: string) => ({ token });

/** Opens a WatchEvents call, as the sandbox admin unless another token is given. */
const open = (via: EventServiceClient, request: Partial<WatchEventsRequest>, token = admin) => new Watch(via, request, token);

/** Event ids of the environment in stream order, after `cursorEvent` (exclusive), from Postgres. */
async function idsAfter(cursorEventId: string | null): Promise<string[]> {
  const { rows } = await t.db.pool.query<{ id: string }>(
    `SELECT id FROM events
     WHERE environment = 'sandbox'
       AND ($1::uuid IS NULL OR (txid, position) > (SELECT txid, position FROM events WHERE id = $1))
     ORDER BY txid, position`,
    [cursorEventId],
  );
  return rows.map((r) => r.id);
}

const typeName = (e: Event) => EventType[e.type].replace('EVENT_TYPE_', '').toLowerCase();

describe('WatchEvents', () => {
  it('streams room and peer events in commit order, each room numbered 1, 2, 3, …', async () => {
    const watch = open(main, {});
    await watch.subscribed;
    const { room: a } = await t.client.rooms.createRoom({ name: 'watch-a' }, as(admin));
    const { room: b } = await t.client.rooms.createRoom({ name: 'watch-b' }, as(admin));
    const p = await t.client.peers.createPeer({ roomId: a!.id, identity: 'p' }, as(admin));
    await t.client.rooms.updateRoom({ roomId: b!.id, metadata: '{"x":1}' }, as(admin));
    await t.client.peers.reportPeerStatus({ roomId: a!.id, peerId: p.peer!.id, status: PeerStatus.PEER_STATUS_CONNECTED }, as(admin));
    await t.client.peers.deletePeer({ roomId: a!.id, peerId: p.peer!.id }, as(admin));
    await t.client.rooms.deleteRoom({ roomId: b!.id }, as(admin));

    const events = await watch.received(8);
    expect(events.map((e) => [e.roomId === a!.id ? 'a' : 'b', typeName(e), Number(e.sequence)])).toEqual([
      ['a', 'room_created', 1],
      ['b', 'room_created', 1],
      ['a', 'peer_created', 2],
      ['b', 'room_updated', 2],
      ['a', 'peer_connected', 3],
      ['a', 'peer_deleted', 4],
      ['a', 'peer_token_revoked', 5],
      ['b', 'room_deleted', 3],
    ]);
    expect(events[2]!.payload).toMatchObject({ $case: 'peerCreated', value: { id: p.peer!.id, identity: 'p' } });
    expect(new Set(events.map((e) => e.cursor)).size).toBe(8);
    // Nothing from before the call, and the same order Postgres has.
    expect(events.map((e) => e.id)).toEqual((await idsAfter(null)).slice(-8));
    watch.cancel();
  });

  it('resumes from the cursor of the last event received with no gap and no duplicate', async () => {
    const first = open(main, {});
    await first.subscribed;
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    for (let i = 0; i < 5; i++) await t.client.peers.createPeer({ roomId: room!.id, identity: `r${i}` }, as(admin));
    const before = await first.received(6);
    first.cancel();
    const cursor = first.lastCursor;
    // Written while nobody watches.
    for (let i = 0; i < 5; i++) await t.client.rooms.updateRoom({ roomId: room!.id, metadata: `{"i":${i}}` }, as(admin));

    const resumed = open(main, { afterCursor: cursor });
    await t.client.rooms.deleteRoom({ roomId: room!.id }, as(admin));
    const after = await resumed.received(5 + 5 + 1);
    const ids = [...before, ...after].map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(after.map((e) => e.id)).toEqual(await idsAfter(before[before.length - 1]!.id));
    expect([...before, ...after].map((e) => Number(e.sequence))).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    resumed.cancel();
  });

  it('does not skip an event whose transaction commits after later ones', async () => {
    const { room: slow } = await t.client.rooms.createRoom({ name: 'slow-writer' }, as(admin));
    const { room: fast } = await t.client.rooms.createRoom({ name: 'fast-writer' }, as(admin));
    // Only ROOM_UPDATED: a watch from now may also get events committed just
    // before it started (its start is below any transaction still running
    // anywhere on the cluster, and other test files' transactions are), such
    // as these two rooms' ROOM_CREATED. What this test is about is the order
    // of the two updates.
    const watch = open(main, { types: [EventType.EVENT_TYPE_ROOM_UPDATED] });
    await watch.subscribed;
    const record = (await new PgRoomStore(t.db.pool).get('sandbox', slow!.id))!;

    let commit!: () => void;
    const released = new Promise<void>((resolve) => (commit = resolve));
    let appended!: () => void;
    const inserted = new Promise<void>((resolve) => (appended = resolve));
    const slowWriter = withTransaction(t.db.pool, async (client) => {
      const roomSeq = await nextRoomSeq(client, slow!.id);
      await appendEvent(client, { environment: 'sandbox', roomId: slow!.id, roomSeq, payload: { type: 'room_updated', room: record } });
      appended();
      await released;
    });
    await inserted;
    // Committed while the first transaction is still open, with a higher position.
    await t.client.rooms.updateRoom({ roomId: fast!.id, metadata: '{"fast":true}' }, as(admin));
    await sleep(1_500);
    expect(watch.events, 'nothing may pass the open transaction').toEqual([]);

    commit();
    await slowWriter;
    const events = await watch.received(2);
    expect(events.map((e) => e.roomId)).toEqual([slow!.id, fast!.id]);
    const { rows } = await t.db.pool.query<{ id: string; position: string }>(
      'SELECT id, position FROM events WHERE id = ANY ($1) ORDER BY position',
      [events.map((e) => e.id)],
    );
    expect(rows.map((r) => r.id), 'the slow event has the lower position').toEqual([events[0]!.id, events[1]!.id]);
    watch.cancel();
  });

  it('streams only the room and the types asked for', async () => {
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    const { room: other } = await t.client.rooms.createRoom({}, as(admin));
    const watch = open(main, { roomId: room!.id, types: [EventType.EVENT_TYPE_PEER_CREATED, EventType.EVENT_TYPE_ROOM_DELETED] });
    await watch.subscribed;
    await t.client.peers.createPeer({ roomId: other!.id, identity: 'elsewhere' }, as(admin));
    await t.client.rooms.updateRoom({ roomId: room!.id, metadata: '{"skipped":true}' }, as(admin));
    const p = await t.client.peers.createPeer({ roomId: room!.id, identity: 'here' }, as(admin));
    await t.client.rooms.deleteRoom({ roomId: room!.id }, as(admin));
    const events = await watch.received(2);
    expect(events.map((e) => [e.roomId, typeName(e)])).toEqual([
      [room!.id, 'peer_created'],
      [room!.id, 'room_deleted'],
    ]);
    expect(events[0]!.payload).toMatchObject({ value: { id: p.peer!.id } });
    await sleep(300);
    expect(watch.events).toHaveLength(2);
    watch.cancel();
  });

  it('cuts a consumer that stops taking events off with RESOURCE_EXHAUSTED and a cursor to resume from', async () => {
    // The smallest backlog the configuration allows; the stall timeout is
    // roomgate's own (5 s), which no setting changes.
    const small = await startTestRoomgate({ ROOMGATE_WATCH_MAX_BACKLOG: '10' }, { sharing: t });
    const proxy = await stallingProxy(small.roomgate.port);
    try {
      const stuck = open(proxy.client, {});
      await stuck.subscribed;
      proxy.stall();
      const { room } = await t.client.rooms.createRoom({}, as(admin));
      // Large events, so that HTTP/2 flow control stops the server soon.
      const metadata = JSON.stringify({ pad: 'x'.repeat(t.config.limits.maxMetadataBytes - 20) });
      const total = 60;
      for (let i = 1; i < total; i++) await t.client.rooms.updateRoom({ roomId: room!.id, metadata }, as(admin));
      const deadline = Date.now() + 15_000;
      while (!small.logs.some((l) => l.includes('consumer too slow')) && Date.now() < deadline) await sleep(20);
      expect(small.logs.join('')).toMatch(/"code":8,.*consumer too slow; resume from cursor /);

      // Once the network moves again, the client gets what was written, then the status.
      proxy.flow();
      const err = await stuck.ended();
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(err.metadata.get('roomgate-error-code')).toEqual(['ERR_WATCH_TOO_SLOW']);
      const cursor = /resume from cursor (\S+)$/.exec(err.details)?.[1];
      expect(cursor).toBe(stuck.lastCursor);
      // The same cursor as data, for callers that read google.rpc.ErrorInfo.
      expect(statusDetailsOf(err.metadata).errorInfo).toEqual([
        { reason: 'ERR_WATCH_TOO_SLOW', domain: 'roomgate', metadata: { resumeCursor: cursor } },
      ]);
      expect(stuck.events.length).toBeGreaterThan(0);
      expect(stuck.events.length).toBeLessThan(total);

      const resumed = open(small.client.eventStream, { afterCursor: cursor! });
      const rest = await resumed.received(total - stuck.events.length);
      expect([...stuck.events, ...rest].map((e) => Number(e.sequence))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      resumed.cancel();
    } finally {
      proxy.close();
      await small.close();
    }
  });

  it('ends with UNAVAILABLE and a cursor on shutdown, and resumes from it on the next server without a gap', async () => {
    const before = await startTestRoomgate({}, { sharing: t });
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    // Every type but ROOM_CREATED: a watch from now may also deliver the
    // room's creation, committed just before it (docs/events-and-webhooks.md).
    const types = [
      EventType.EVENT_TYPE_PEER_CREATED,
      EventType.EVENT_TYPE_ROOM_UPDATED,
      EventType.EVENT_TYPE_PEER_TOKEN_REVOKED,
      EventType.EVENT_TYPE_ROOM_DELETED,
    ];
    const watch = open(before.client.eventStream, { roomId: room!.id, types });
    await watch.subscribed;
    await t.client.peers.createPeer({ roomId: room!.id, identity: 'before' }, as(admin));
    await watch.received(1);
    await before.close();
    const err = await watch.ended();
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    const cursor = /resume from cursor (\S+)$/.exec(err.details)?.[1];
    expect(cursor).toBeDefined();
    expect(statusDetailsOf(err.metadata).errorInfo[0]).toMatchObject({ reason: 'ERR_SHUTTING_DOWN', metadata: { resumeCursor: cursor } });

    // While no server runs.
    await t.client.peers.createPeer({ roomId: room!.id, identity: 'between' }, as(admin));
    await t.client.rooms.updateRoom({ roomId: room!.id, metadata: '{"between":true}' }, as(admin));

    const next = await startTestRoomgate({}, { sharing: t });
    try {
      const resumed = open(next.client.eventStream, { roomId: room!.id, types, afterCursor: cursor! });
      await t.client.rooms.deleteRoom({ roomId: room!.id }, as(admin));
      const rest = await resumed.received(5);
      expect(rest.map(typeName)).toEqual(['peer_created', 'room_updated', 'peer_token_revoked', 'peer_token_revoked', 'room_deleted']);
      expect([...watch.events, ...rest].map((e) => Number(e.sequence))).toEqual([2, 3, 4, 5, 6, 7]);
      resumed.cancel();
    } finally {
      await next.close();
    }
  });

  describe('refuses', () => {
    it('a call without credentials with UNAUTHENTICATED', async () => {
      const err = await open(main, {}, '').ended();
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    });

    it('peer tokens, and management tokens with scope verify only asking for more than revocations, with PERMISSION_DENIED', async () => {
      const { room } = await t.client.rooms.createRoom({}, as(admin));
      const { peerToken } = await t.client.peers.createPeer({ roomId: room!.id, identity: 'nosy' }, as(admin));
      const asPeer = await open(main, { roomId: room!.id }, peerToken).ended();
      expect(asPeer.code).toBe(grpc.status.PERMISSION_DENIED);
      const verify = await open(main, { types: [EventType.EVENT_TYPE_ROOM_CREATED] }, await t.managementToken('sandbox', ['verify'])).ended();
      expect(verify.code).toBe(grpc.status.PERMISSION_DENIED);
      const read = open(main, {}, await t.managementToken('sandbox', ['read']));
      await read.subscribed;
      read.cancel();
    });

    it.each([
      ['a room_id that is not a UUID', { roomId: 'not-a-uuid' }, 'room_id'],
      ['EVENT_TYPE_UNSPECIFIED', { types: [EventType.EVENT_TYPE_UNSPECIFIED] }, 'types'],
      ['an unknown type', { types: [99 as EventType] }, 'types'],
      ['a cursor it did not hand out', { afterCursor: 'garbage' }, 'after_cursor'],
      ['a cursor beyond the range of xid8', { afterCursor: Buffer.from('ev1.99999999999999999999.1').toString('base64url') }, 'after_cursor'],
    ])('%s with INVALID_ARGUMENT naming the field', async (_name, request, field) => {
      const err = await open(main, request).ended();
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(new RegExp(`^${field}: `));
      expect(statusDetailsOf(err.metadata).badRequest[0]?.fieldViolations.map((v) => v.field)).toEqual([field]);
    });
  });

  it("never shows another environment's events", async () => {
    const production = await t.managementToken('production');
    const watch = open(main, {}, production);
    await watch.subscribed;
    await t.client.rooms.createRoom({ name: `sandbox-${randomUUID().slice(0, 8)}` }, as(admin));
    const { room } = await t.client.rooms.createRoom({}, as(production));
    const events = await watch.received(1);
    expect(events[0]!.roomId).toBe(room!.id);
    watch.cancel();
  });
});
