// The transactional outbox over real gRPC and Postgres: every change writes
// its event in the same transaction, with a gap-free per-room sequence, and
// a refused change writes none. Also ReportPeerStatus and the room timeouts.
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerStatus } from '../../src/gen/roomgate/v1/resources.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let admin: string;

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

const as = (token: string) => ({ token });

async function eventsOf(roomId: string) {
  const { rows } = await t.db.pool.query<{ room_seq: string; type: string; payload: Record<string, unknown> }>(
    'SELECT room_seq, type, payload FROM events WHERE room_id = $1 ORDER BY room_seq',
    [roomId],
  );
  return rows;
}

describe('the outbox', () => {
  it('records every change of a room as one event, numbered 1, 2, 3, … without gaps', async () => {
    const { room } = await t.client.rooms.createRoom({ name: 'outbox', maxPeers: 5 }, as(admin));
    const roomId = room!.id;
    const a = await t.client.peers.createPeer({ roomId, identity: 'a' }, as(admin));
    const b = await t.client.peers.createPeer({ roomId, identity: 'b' }, as(admin));
    await t.client.rooms.updateRoom({ roomId, metadata: '{"x":1}' }, as(admin));
    await t.client.peers.updatePeerMetadata({ roomId, peerId: a.peer!.id, clientMetadata: '{"hand":"up"}' }, as(admin));
    await t.client.peers.reportPeerStatus({ roomId, peerId: a.peer!.id, status: PeerStatus.PEER_STATUS_CONNECTED }, as(admin));
    await t.client.peers.reportPeerStatus({ roomId, peerId: a.peer!.id, status: PeerStatus.PEER_STATUS_DISCONNECTED }, as(admin));
    await t.client.peers.updatePeer({ roomId, peerId: b.peer!.id, permissions: { canPublish: true } }, as(admin));
    await t.client.peers.deletePeer({ roomId, peerId: a.peer!.id }, as(admin));
    await t.client.rooms.deleteRoom({ roomId }, as(admin));

    const events = await eventsOf(roomId);
    expect(events.map((e) => e.type)).toEqual([
      'room_created',
      'peer_created',
      'peer_created',
      'room_updated',
      'peer_metadata_updated',
      'peer_connected',
      'peer_disconnected',
      'peer_token_revoked',
      'peer_deleted',
      'peer_token_revoked',
      'peer_token_revoked',
      'room_deleted',
    ]);
    expect(events.map((e) => Number(e.room_seq))).toEqual(events.map((_, i) => i + 1));
    expect(events[7]!.payload).toMatchObject({ peerId: b.peer!.id, cause: 'permissions_changed', generation: 2 });
    expect(events[9]!.payload).toMatchObject({ peerId: a.peer!.id, cause: 'peer_deleted' });
    expect(events[10]!.payload).toMatchObject({ peerId: b.peer!.id, cause: 'room_deleted' });
    expect(events[11]!.payload).toMatchObject({ room: { id: roomId, name: 'outbox' } });
  });

  it('writes no event for a change that is refused or rolled back', async () => {
    const { room } = await t.client.rooms.createRoom({ maxPeers: 1 }, as(admin));
    await t.client.peers.createPeer({ roomId: room!.id, identity: 'only' }, as(admin));
    await expectStatus(t.client.peers.createPeer({ roomId: room!.id, identity: 'late' }, as(admin)), status.FAILED_PRECONDITION);
    await t.client.rooms.updateRoom({ roomId: room!.id, maxPeers: 2 }, as(admin));
    await expectStatus(t.client.peers.createPeer({ roomId: room!.id, identity: 'only' }, as(admin)), status.ALREADY_EXISTS);
    expect((await eventsOf(room!.id)).map((e) => [Number(e.room_seq), e.type])).toEqual([
      [1, 'room_created'],
      [2, 'peer_created'],
      [3, 'room_updated'],
    ]);
  });

  it('keeps per-room sequences gap-free under concurrent writes', async () => {
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.client.peers.createPeer({ roomId: room!.id, identity: `c${i}` }, as(admin))),
    );
    const seqs = (await eventsOf(room!.id)).map((e) => Number(e.room_seq));
    expect(seqs).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });
});

describe('stream order', () => {
  it('keeps each room in sequence order in the (txid, position) order the stream uses', async () => {
    // Every writer locks the room row before taking a transaction id, so the
    // writer that gets the next sequence number also gets the later id.
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    const { peer } = await t.client.peers.createPeer({ roomId: room!.id, identity: 'x' }, as(admin));
    const holder = await t.db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [room!.id]);
      const b = t.client.peers.updatePeerMetadata({ roomId: room!.id, peerId: peer!.id, clientMetadata: '{"b":1}' }, as(admin));
      await sleep(200);
      const a = t.client.peers.createPeer({ roomId: room!.id, identity: 'y', requestId: 'order-test' }, as(admin));
      const c = t.client.rooms.updateRoom({ roomId: room!.id, metadata: '{"c":1}' }, as(admin));
      await sleep(200);
      await holder.query('COMMIT');
      await Promise.all([a, b, c]);
    } finally {
      holder.release();
    }
    const { rows } = await t.db.pool.query<{ room_seq: string }>(
      'SELECT room_seq FROM events WHERE room_id = $1 ORDER BY txid, position',
      [room!.id],
    );
    expect(rows.map((r) => Number(r.room_seq))).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('ReportPeerStatus', () => {
  it('records connected and disconnected, emits once per change, and is allowed to the verify scope', async () => {
    const { room } = await t.client.rooms.createRoom({ peerlessPurgeTimeoutSeconds: 60, peerDisconnectedTimeoutSeconds: 30 }, as(admin));
    expect(room).toMatchObject({ peerlessPurgeTimeoutSeconds: 60, peerDisconnectedTimeoutSeconds: 30 });
    const p = await t.client.peers.createPeer({ roomId: room!.id }, as(admin));
    expect(p.peer!.status).toBe(PeerStatus.PEER_STATUS_NEW);
    const media = await t.managementToken('sandbox', ['verify']);
    const req = { roomId: room!.id, peerId: p.peer!.id, status: PeerStatus.PEER_STATUS_CONNECTED };
    const connected = await t.client.peers.reportPeerStatus(req, as(media));
    expect(connected.peer!.status).toBe(PeerStatus.PEER_STATUS_CONNECTED);
    await t.client.peers.reportPeerStatus(req, as(media));
    const { rows } = await t.db.pool.query('SELECT connected_count FROM rooms WHERE id = $1', [room!.id]);
    expect(rows[0].connected_count).toBe(1);
    expect((await eventsOf(room!.id)).filter((e) => e.type === 'peer_connected')).toHaveLength(1);

    await expectStatus(t.client.peers.reportPeerStatus({ ...req, status: PeerStatus.PEER_STATUS_NEW }, as(media)), status.INVALID_ARGUMENT, /^status:/);
    await expectStatus(t.client.peers.reportPeerStatus(req, as(await t.managementToken('sandbox', ['read']))), status.PERMISSION_DENIED, /'verify' scope/);
    await expectStatus(t.client.peers.reportPeerStatus(req, as(p.peerToken)), status.PERMISSION_DENIED);
    await expectStatus(
      t.client.peers.reportPeerStatus({ ...req, peerId: '00000000-0000-4000-8000-00000000dead' }, as(media)),
      status.NOT_FOUND,
    );
  });

  it('validates room timeouts and keeps them to management tokens', async () => {
    await expectStatus(
      t.client.rooms.createRoom({ peerlessPurgeTimeoutSeconds: 31 * 86_400 }, as(admin)),
      status.INVALID_ARGUMENT,
      /^peerless_purge_timeout_seconds:/,
    );
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    const updated = await t.client.rooms.updateRoom({ roomId: room!.id, peerDisconnectedTimeoutSeconds: 5 }, as(admin));
    expect(updated.room).toMatchObject({ peerDisconnectedTimeoutSeconds: 5, peerlessPurgeTimeoutSeconds: 0 });
    const p = await t.client.peers.createPeer({ roomId: room!.id, permissions: { canUpdateRoom: true } }, as(admin));
    await expectStatus(
      t.client.rooms.updateRoom({ roomId: room!.id, peerlessPurgeTimeoutSeconds: 1 }, as(p.peerToken)),
      status.PERMISSION_DENIED,
      /room timeouts/,
    );
  });
});
