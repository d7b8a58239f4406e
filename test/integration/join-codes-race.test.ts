// RedeemJoinCode racing itself across processes: three `roomgate serve`
// processes on one database (test/support/cluster.ts), each with its own pool,
// get 50 concurrent redemptions of one code, spread round-robin. max_uses is
// held by the database (the use is counted in the statement that checks it,
// under the code's row lock), so exactly max_uses peers are made; and where
// the room's max_peers is the tighter bound, exactly max_peers are made and
// only their uses are counted. The database is this file's own
// (test/support/database.ts).
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { inSeconds, joinCodeClient, type JoinCodeCalls } from '../support/join-codes.js';

const SIZE = 3;
const RACERS = 50;
let db: TestDatabase;
let cluster: Cluster;
let codes: JoinCodeCalls[];

beforeAll(async () => {
  db = await createTestDatabase();
  cluster = await startCluster({
    databaseUrl: db.connectionString,
    size: SIZE,
    deadlineMs: 20_000,
    // Every racer comes from 127.0.0.1: the rate limits are tested elsewhere.
    env: { ROOMGATE_JOIN_RATE_LIMIT_PER_ADDRESS: '1000000', ROOMGATE_JOIN_RATE_LIMIT_PER_CODE: '1000000', ROOMGATE_HTTP_ADDRESS: 'off' },
  });
  codes = cluster.instances.map((p) => joinCodeClient(p.address));
  await cluster.client(0).roles.createRole({ name: 'racer', permissions: { canSubscribe: true } });
}, 120_000);
afterAll(async () => {
  for (const c of codes ?? []) c.close();
  await cluster?.stop();
  await db?.drop();
});

/** Redeems `code` RACERS times at once, call i on instance i % SIZE; the outcomes, by instance. */
async function race(code: string) {
  const results = await Promise.allSettled(
    Array.from({ length: RACERS }, (_, i) => codes[i % SIZE]!.redeem({ code, displayName: `racer ${i}` })),
  );
  const ok = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ instance: i % SIZE, peerId: r.value.peer!.id }] : []));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ServiceError] : []));
  return { ok, failed };
}

const reasonOf = (err: ServiceError) => `${status[err.code]} ${String(err.metadata.get('roomgate-error-code')[0])}`;

async function stateOf(roomId: string, codeId: string) {
  const peers = await db.pool.query<{ id: string }>('SELECT id FROM peers WHERE room_id = $1', [roomId]);
  const code = await db.pool.query<{ use_count: number }>('SELECT use_count FROM join_codes WHERE id = $1', [codeId]);
  const events = await db.pool.query<{ type: string; n: number }>(
    'SELECT type, count(*)::int AS n FROM events WHERE room_id = $1 GROUP BY type ORDER BY type',
    [roomId],
  );
  return { peers: peers.rows.map((r) => r.id), useCount: code.rows[0]!.use_count, events: Object.fromEntries(events.rows.map((r) => [r.type, r.n])) };
}

describe(`${RACERS} concurrent redemptions over ${SIZE} processes`, () => {
  it('make exactly max_uses peers of a 10-use code', async () => {
    const roomId = (await cluster.client(0).rooms.createRoom({})).room!.id;
    const made = await codes[0]!.create({ roomId, role: 'racer', expireTime: inSeconds(600), maxUses: 10 }, cluster.adminToken);
    const { ok, failed } = await race(made.code);
    expect(ok).toHaveLength(10);
    expect(failed.map(reasonOf)).toEqual(Array(RACERS - 10).fill('UNAUTHENTICATED ERR_JOIN_CODE_INVALID'));
    const state = await stateOf(roomId, made.joinCode!.id);
    expect(state.peers.sort()).toEqual(ok.map((o) => o.peerId).sort());
    expect(state.useCount).toBe(10);
    expect(state.events).toEqual({ join_code_redeemed: 10, peer_created: 10, room_created: 1 });
  }, 60_000);

  it('make exactly max_peers peers when the room is the tighter bound, counting only their uses', async () => {
    const roomId = (await cluster.client(1).rooms.createRoom({ maxPeers: 7 })).room!.id;
    const made = await codes[1]!.create({ roomId, role: 'racer', expireTime: inSeconds(600), maxUses: 10 }, cluster.adminToken);
    const { ok, failed } = await race(made.code);
    expect(ok).toHaveLength(7);
    expect(new Set(failed.map(reasonOf))).toEqual(new Set(['FAILED_PRECONDITION ERR_ROOM_FULL']));
    const state = await stateOf(roomId, made.joinCode!.id);
    expect(state.peers).toHaveLength(7);
    expect(state.useCount).toBe(7);
  }, 60_000);
});
