import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let token: string;

beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_DB_POOL_SIZE: '20' });
  token = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

describe('concurrency', () => {
  it('admits exactly max_peers of 50 concurrent CreatePeer calls', async () => {
    const { room } = await t.client.rooms.createRoom({ maxPeers: 10 }, { token });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => t.client.peers.createPeer({ roomId: room!.id, identity: `u${i}` }, { token })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(10);
    expect(failed.map((r) => (r.reason as ServiceError).code)).toEqual(Array(40).fill(status.FAILED_PRECONDITION));
    const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM peers WHERE room_id = $1', [room!.id]);
    expect(rows[0].n).toBe(10);
    expect((await t.client.rooms.getRoom({ roomId: room!.id }, { token })).room!.peerCount).toBe(10);
  });

  it('creates one room for 20 concurrent calls with the same request_id, all answered alike', async () => {
    const calls = await Promise.all(
      Array.from({ length: 20 }, () => t.client.rooms.createRoom({ name: 'once', requestId: 'concurrent-1' }, { token })),
    );
    expect(new Set(calls.map((c) => c.room!.id)).size).toBe(1);
    const { rows } = await t.db.pool.query("SELECT count(*)::int AS n FROM rooms WHERE name = 'once'");
    expect(rows[0].n).toBe(1);
  });

  it('creates one peer for 20 concurrent CreatePeer calls with the same request_id, with identical tokens', async () => {
    const { room } = await t.client.rooms.createRoom({}, { token });
    const calls = await Promise.all(
      Array.from({ length: 20 }, () => t.client.peers.createPeer({ roomId: room!.id, identity: 'one', requestId: 'peer-once' }, { token })),
    );
    expect(new Set(calls.map((c) => c.peerToken)).size).toBe(1);
    expect(new Set(calls.map((c) => c.peer!.id)).size).toBe(1);
    expect((await t.client.rooms.getRoom({ roomId: room!.id }, { token })).room!.peerCount).toBe(1);
  });

  it('keeps peer_count exact under concurrent joins and leaves', async () => {
    const { room } = await t.client.rooms.createRoom({}, { token });
    const first = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.client.peers.createPeer({ roomId: room!.id, identity: `a${i}` }, { token })),
    );
    await Promise.all([
      ...first.slice(0, 10).map((p) => t.client.peers.deletePeer({ roomId: room!.id, peerId: p.peer!.id }, { token })),
      ...Array.from({ length: 10 }, (_, i) => t.client.peers.createPeer({ roomId: room!.id, identity: `b${i}` }, { token })),
    ]);
    const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM peers WHERE room_id = $1', [room!.id]);
    expect(rows[0].n).toBe(20);
    expect((await t.client.rooms.getRoom({ roomId: room!.id }, { token })).room!.peerCount).toBe(20);
  });
});
