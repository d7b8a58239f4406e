// The room timeouts over real Postgres: rooms and peers are made and reported
// through a full roomgate (startTestRoomgate, on this file's own database),
// and PurgeSchedulers built here run on the same database, as each instance's
// would. The server's own scheduler is slowed to once an hour so that only
// these act.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheInvalidator } from '../../src/domain/cache-invalidator.js';
import { PurgeScheduler } from '../../src/domain/purge-scheduler.js';
import { type PurgeVictim } from '../../src/domain/ports/index.js';
import { PeerStatus } from '../../src/gen/roomgate/v1/resources.js';
import { withTransaction } from '../../src/store/pool.js';
import { PgPurgeStore } from '../../src/store/purge-store.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let admin: string;

beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_PURGE_INTERVAL_MS: '3600000' });
  admin = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

const as = (token: string) => ({ token });

/** A scheduler on the test database that records what it invalidated and purged. */
function scheduler(intervalMs = 100) {
  const invalidated: string[] = [];
  const purged: PurgeVictim[] = [];
  const errors: unknown[] = [];
  const invalidate: CacheInvalidator = {
    peer: (id) => invalidated.push(`peer:${id}`),
    room: (id) => invalidated.push(`room:${id}`),
    managementToken: (id) => invalidated.push(`mtoken:${id}`),
    all: () => invalidated.push('all'),
  };
  const purge = new PurgeScheduler(new PgPurgeStore(t.db.pool), invalidate, {
    intervalMs,
    idempotencyKeyTtlSeconds: 24 * 3600,
    eventRetentionSeconds: 7 * 86_400,
    onPurged: (v) => purged.push(v),
    onError: (err) => errors.push(err),
  });
  return { purge, invalidated, purged, errors };
}

async function eventsOf(roomId: string) {
  const { rows } = await t.db.pool.query<{ type: string; payload: Record<string, unknown> }>(
    'SELECT type, payload FROM events WHERE room_id = $1 ORDER BY room_seq',
    [roomId],
  );
  return rows;
}

async function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check()) && Date.now() < deadline) await sleep(50);
}

const roomExists = async (roomId: string) => (await t.db.pool.query('SELECT 1 FROM rooms WHERE id = $1', [roomId])).rowCount === 1;
const peerExists = async (peerId: string) => (await t.db.pool.query('SELECT 1 FROM peers WHERE id = $1', [peerId])).rowCount === 1;

async function report(roomId: string, peerId: string, status: PeerStatus): Promise<void> {
  await t.client.peers.reportPeerStatus({ roomId, peerId, status }, as(admin));
}

/** A peer that connected and then disconnected, in a room that deletes peers disconnected for 1 s. */
async function disconnectedPeer(identity: string): Promise<{ roomId: string; peerId: string }> {
  const { room } = await t.client.rooms.createRoom({ peerDisconnectedTimeoutSeconds: 1 }, as(admin));
  const { peer } = await t.client.peers.createPeer({ roomId: room!.id, identity }, as(admin));
  await report(room!.id, peer!.id, PeerStatus.PEER_STATUS_CONNECTED);
  await report(room!.id, peer!.id, PeerStatus.PEER_STATUS_DISCONNECTED);
  return { roomId: room!.id, peerId: peer!.id };
}

describe('the peerless purge timeout', () => {
  it('purges a room no peer has been connected to for that long, with room_purged and its peers revoked', async () => {
    const s = scheduler();
    const { room } = await t.client.rooms.createRoom({ name: 'idle', peerlessPurgeTimeoutSeconds: 1 }, as(admin));
    const { room: keeper } = await t.client.rooms.createRoom({ name: 'keeper' }, as(admin));
    const { peer } = await t.client.peers.createPeer({ roomId: room!.id, identity: 'never-came' }, as(admin));
    s.purge.start();
    try {
      await until(async () => !(await roomExists(room!.id)));
    } finally {
      await s.purge.stop();
    }
    expect(await roomExists(room!.id)).toBe(false);
    expect(await roomExists(keeper!.id), 'a room without the timeout stays').toBe(true);
    const events = await eventsOf(room!.id);
    expect(events.map((e) => e.type)).toEqual(['room_created', 'peer_created', 'peer_token_revoked', 'room_purged']);
    expect(events[2]!.payload).toMatchObject({ peerId: peer!.id, cause: 'room_deleted' });
    expect(events[3]!.payload).toMatchObject({ room: { id: room!.id, name: 'idle' } });
    expect(s.purged).toEqual([{ kind: 'room', environment: 'sandbox', roomId: room!.id }]);
    expect(s.invalidated).toEqual([`room:${room!.id}`]);
    expect(s.errors).toEqual([]);
  });

  it('keeps a room while a peer is connected, and counts from the last disconnect', async () => {
    const s = scheduler();
    const { room } = await t.client.rooms.createRoom({ peerlessPurgeTimeoutSeconds: 1 }, as(admin));
    const { peer } = await t.client.peers.createPeer({ roomId: room!.id, identity: 'present' }, as(admin));
    await report(room!.id, peer!.id, PeerStatus.PEER_STATUS_CONNECTED);
    await sleep(1_300);
    expect(await s.purge.runOnce()).toMatchObject({ peers: 0, rooms: 0 });
    await report(room!.id, peer!.id, PeerStatus.PEER_STATUS_DISCONNECTED);
    expect(await s.purge.runOnce(), 'the timeout starts again at the disconnect').toMatchObject({ peers: 0, rooms: 0 });
    await sleep(1_300);
    expect(await s.purge.runOnce()).toMatchObject({ peers: 0, rooms: 1 });
    expect((await eventsOf(room!.id)).map((e) => e.type).at(-1)).toBe('room_purged');
  });
});

describe('the peer disconnected timeout', () => {
  it('deletes a peer disconnected for that long, with peer_deleted and peer_token_revoked, and its token stops verifying', async () => {
    const s = scheduler();
    const { room } = await t.client.rooms.createRoom({ peerDisconnectedTimeoutSeconds: 1 }, as(admin));
    const gone = await t.client.peers.createPeer({ roomId: room!.id, identity: 'gone' }, as(admin));
    const stays = await t.client.peers.createPeer({ roomId: room!.id, identity: 'stays' }, as(admin));
    const verify = await t.managementToken('sandbox', ['verify']);
    expect((await t.client.tokens.verifyPeerToken({ token: gone.peerToken }, as(verify))).valid).toBe(true);
    await report(room!.id, gone.peer!.id, PeerStatus.PEER_STATUS_CONNECTED);
    await report(room!.id, gone.peer!.id, PeerStatus.PEER_STATUS_DISCONNECTED);
    await report(room!.id, stays.peer!.id, PeerStatus.PEER_STATUS_CONNECTED);
    s.purge.start();
    try {
      await until(async () => !(await peerExists(gone.peer!.id)));
    } finally {
      await s.purge.stop();
    }
    expect(await peerExists(gone.peer!.id)).toBe(false);
    expect(await peerExists(stays.peer!.id), 'a connected peer stays').toBe(true);
    expect(await roomExists(room!.id)).toBe(true);
    const events = (await eventsOf(room!.id)).slice(-2);
    expect(events.map((e) => e.type)).toEqual(['peer_deleted', 'peer_token_revoked']);
    expect(events[0]!.payload).toMatchObject({ peer: { id: gone.peer!.id, status: 'disconnected' } });
    expect(events[1]!.payload).toMatchObject({ peerId: gone.peer!.id, identity: 'gone', cause: 'peer_deleted' });
    expect(s.invalidated).toEqual([`peer:${gone.peer!.id}`]);
    expect((await t.client.tokens.verifyPeerToken({ token: gone.peerToken }, as(verify))).valid).toBe(false);
  });

  it('lets a peer that reconnected in time survive', async () => {
    const s = scheduler();
    const { roomId, peerId } = await disconnectedPeer('flaky');
    await sleep(500);
    await report(roomId, peerId, PeerStatus.PEER_STATUS_CONNECTED);
    await sleep(1_000);
    expect(await s.purge.runOnce()).toMatchObject({ peers: 0, rooms: 0 });
    expect(await peerExists(peerId)).toBe(true);
    expect((await eventsOf(roomId)).map((e) => e.type)).not.toContain('peer_deleted');
  });

  it('skips a peer whose room is locked by a status report in flight, and spares it if that report reconnects it', async () => {
    const s = scheduler();
    const { roomId, peerId } = await disconnectedPeer('racing');
    await sleep(1_200);
    // What ReportPeerStatus does, held open: the room row first, then the peer.
    await withTransaction(t.db.pool, async (client) => {
      await client.query('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [roomId]);
      expect(await s.purge.runOnce(), 'the purge neither waits nor acts').toMatchObject({ peers: 0, rooms: 0 });
      await client.query("UPDATE peers SET status = 'connected', status_changed_at = now() WHERE id = $1", [peerId]);
    });
    expect(await s.purge.runOnce()).toMatchObject({ peers: 0, rooms: 0 });
    expect(await peerExists(peerId)).toBe(true);
  });
});

describe('several instances', () => {
  it('purge each expired room and peer exactly once', async () => {
    const rooms = await Promise.all(
      Array.from({ length: 8 }, () => t.client.rooms.createRoom({ peerlessPurgeTimeoutSeconds: 1 }, as(admin))),
    );
    const { room: host } = await t.client.rooms.createRoom({ peerDisconnectedTimeoutSeconds: 1 }, as(admin));
    const anchor = await t.client.peers.createPeer({ roomId: host!.id, identity: 'anchor' }, as(admin));
    await report(host!.id, anchor.peer!.id, PeerStatus.PEER_STATUS_CONNECTED);
    const peers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => t.client.peers.createPeer({ roomId: host!.id, identity: `p${i}` }, as(admin))),
    );
    for (const p of peers) {
      await report(host!.id, p.peer!.id, PeerStatus.PEER_STATUS_CONNECTED);
      await report(host!.id, p.peer!.id, PeerStatus.PEER_STATUS_DISCONNECTED);
    }
    await sleep(1_200);

    const instances = [scheduler(), scheduler(), scheduler()];
    const results = await Promise.all(instances.map((s) => s.purge.runOnce()));
    expect(results.reduce((n, r) => n + r.rooms, 0)).toBe(8);
    expect(results.reduce((n, r) => n + r.peers, 0)).toBe(8);
    expect(await Promise.all(instances.map((s) => s.purge.runOnce()))).toMatchObject(instances.map(() => ({ peers: 0, rooms: 0 })));

    const { rows } = await t.db.pool.query<{ type: string; n: string }>(
      `SELECT type, count(*) AS n FROM events WHERE room_id = ANY ($1) AND type IN ('room_purged', 'peer_deleted') GROUP BY type`,
      [[...rooms.map((r) => r.room!.id), host!.id]],
    );
    expect(Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]))).toEqual({ room_purged: 8, peer_deleted: 8 });
    expect(await peerExists(anchor.peer!.id)).toBe(true);
    expect(instances.flatMap((s) => s.errors)).toEqual([]);
  });
});

describe('request_id expiry', () => {
  it('forgets a request_id after its TTL, so the same id then starts a new request, and keeps younger ones', async () => {
    const s = scheduler();
    const { room: old } = await t.client.rooms.createRoom({ name: 'expiring', requestId: 'expiry-old' }, as(admin));
    const { room: young } = await t.client.rooms.createRoom({ name: 'remembered', requestId: 'expiry-young' }, as(admin));
    await t.db.pool.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE request_id = 'expiry-old'`);
    // Before the run, the old id still replays (and refuses other parameters).
    await expect(t.client.rooms.createRoom({ name: 'other', requestId: 'expiry-old' }, as(admin))).rejects.toMatchObject({
      details: expect.stringMatching(/request_id: was already used with different parameters/),
    });
    await expect(s.purge.runOnce()).resolves.toMatchObject({ idempotencyKeys: 1 });
    const { rows } = await t.db.pool.query<{ request_id: string }>(
      `SELECT request_id FROM idempotency_keys WHERE request_id LIKE 'expiry-%'`,
    );
    expect(rows.map((r) => r.request_id)).toEqual(['expiry-young']);
    const { room: fresh } = await t.client.rooms.createRoom({ name: 'other', requestId: 'expiry-old' }, as(admin));
    expect(fresh!.id).not.toBe(old!.id);
    const { room: replay } = await t.client.rooms.createRoom({ name: 'remembered', requestId: 'expiry-young' }, as(admin));
    expect(replay!.id).toBe(young!.id);
  });
});
