// Client deadlines reach Postgres: a call whose deadline is shorter than the
// statement it waits on gets DEADLINE_EXCEEDED, and the statement is cancelled
// on the server, leaving no transaction open and nothing written. The slow
// statement is made by holding a lock in a connection of the test's own; every
// check that the server gave up runs while that lock is still held, so it is
// the server's cancellation that is seen, not the lock going away.
import { status } from '@grpc/grpc-js';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoomgateClient, type RoomgateClient } from '../../src/client/index.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { waitUntil } from '../support/wait-until.js';

// Nothing else of roomgate's may wait on the locks the tests hold.
const QUIET = { ROOMGATE_RELAY_ENABLED: 'false', ROOMGATE_PURGE_INTERVAL_MS: '3600000' };

let rg: TestRoomgate;
let client: RoomgateClient;

beforeAll(async () => {
  // The default statement timeout (30 s) is far beyond the waits below, so
  // only the call's deadline can end a statement in time.
  rg = await startTestRoomgate(QUIET);
  client = createRoomgateClient(rg.address, { token: await rg.managementToken(), deadlineMs: 5_000 });
});
afterAll(async () => {
  client?.close();
  await rg?.close();
});

/** Runs `fn` while a connection of the test's own holds `lock` in an open transaction on `server`'s database. */
async function whileLocked<T>(lock: string, params: unknown[], fn: () => Promise<T>, server = rg): Promise<T> {
  const holder = await server.db.pool.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(lock, params);
    return await fn();
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    holder.release();
  }
}

interface Backend {
  state: string | null;
  wait_event_type: string | null;
  query: string;
}

/** roomgate's sessions on the pool's database that wait on a lock or sit in a transaction. */
async function stuckBackends(pool: pg.Pool): Promise<Backend[]> {
  const { rows } = await pool.query<Backend>(
    `SELECT state, wait_event_type, query FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'roomgate'
        AND (wait_event_type = 'Lock' OR state LIKE 'idle in transaction%')`,
  );
  return rows;
}

/** Waits (up to 1 s) until no roomgate session is stuck, and fails with what is left otherwise. */
async function expectNothingStuck(server = rg): Promise<void> {
  let left: Backend[] = [];
  await waitUntil(async () => (left = await stuckBackends(server.db.pool)).length === 0, 1_000).catch(() => undefined);
  expect(left).toEqual([]);
}

/**
 * The server's log line for `method`, written after the first `after` chunks
 * of its log; waits up to 1 s for it.
 */
async function loggedCall(method: string, after: number): Promise<{ code: number; reason?: string }> {
  let line: { code: number; reason?: string } | undefined;
  const find = () =>
    (line = rg.logs
      .slice(after)
      .flatMap((chunk) => chunk.split('\n').filter(Boolean))
      .map((l) => JSON.parse(l) as { msg: string; method?: string; code: number; reason?: string })
      .find((l) => l.msg === 'rpc' && l.method === method)) !== undefined;
  await waitUntil(find, 1_000);
  return line!;
}

describe('client deadlines reach Postgres', () => {
  it('CreatePeer waiting on a locked room gets DEADLINE_EXCEEDED; the statement is cancelled and nothing is written', async () => {
    const { room } = await client.rooms.createRoom({ maxPeers: 10 });
    const roomId = room!.id;
    await whileLocked('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [roomId], async () => {
      const after = rg.logs.length;
      await expectStatus(client.peers.createPeer({ roomId, identity: 'late' }, { deadlineMs: 300 }), status.DEADLINE_EXCEEDED);
      // The server answered with its own DEADLINE_EXCEEDED (the statement was
      // cancelled), not only the client giving up, and nothing of roomgate's
      // still waits on the lock or holds a transaction open.
      expect(await loggedCall('CreatePeer', after)).toMatchObject({ code: status.DEADLINE_EXCEEDED, reason: 'the database did not answer in time' });
      await expectNothingStuck();
    });
    const peers = await rg.db.pool.query('SELECT id FROM peers WHERE room_id = $1', [roomId]);
    expect(peers.rows).toEqual([]);
    const counted = await rg.db.pool.query<{ peer_count: number }>('SELECT peer_count FROM rooms WHERE id = $1', [roomId]);
    expect(counted.rows[0]!.peer_count).toBe(0);
    expect((await client.peers.listPeers({ roomId })).peers).toEqual([]);
  });

  it('UpdateRoom waiting on a locked room gets DEADLINE_EXCEEDED and leaves the room as it was', async () => {
    const { room } = await client.rooms.createRoom({ metadata: '{"v":1}' });
    const roomId = room!.id;
    await whileLocked('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [roomId], async () => {
      const after = rg.logs.length;
      await expectStatus(client.rooms.updateRoom({ roomId, metadata: '{"v":2}' }, { deadlineMs: 300 }), status.DEADLINE_EXCEEDED);
      expect((await loggedCall('UpdateRoom', after)).code).toBe(status.DEADLINE_EXCEEDED);
      await expectNothingStuck();
    });
    expect((await client.rooms.getRoom({ roomId })).room!.metadata).toBe('{"v":1}');
  });

  it('a read outside a transaction (GetRoom on a locked table) is cancelled at the deadline too', async () => {
    const { room } = await client.rooms.createRoom({});
    // Warm the token cache first: the lock below is on rooms only.
    await client.rooms.getRoom({ roomId: room!.id });
    await whileLocked('LOCK TABLE rooms IN ACCESS EXCLUSIVE MODE', [], async () => {
      const after = rg.logs.length;
      await expectStatus(client.rooms.getRoom({ roomId: room!.id }, { deadlineMs: 300 }), status.DEADLINE_EXCEEDED);
      expect((await loggedCall('GetRoom', after)).code).toBe(status.DEADLINE_EXCEEDED);
      await expectNothingStuck();
    });
    // The pool is healthy afterwards.
    expect((await client.rooms.getRoom({ roomId: room!.id })).room!.id).toBe(room!.id);
  });

  it('a generous deadline still succeeds after a short lock', async () => {
    const { room } = await client.rooms.createRoom({ maxPeers: 10 });
    const roomId = room!.id;
    const holder = await rg.db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [roomId]);
      const created = client.peers.createPeer({ roomId, identity: 'patient' }, { deadlineMs: 5_000 });
      await new Promise((r) => setTimeout(r, 400));
      await holder.query('COMMIT');
      expect((await created).peer!.identity).toBe('patient');
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    }
    const counted = await rg.db.pool.query<{ peer_count: number }>('SELECT peer_count FROM rooms WHERE id = $1', [roomId]);
    expect(counted.rows[0]!.peer_count).toBe(1);
  });

  it('a call with no deadline is bounded by ROOMGATE_DB_STATEMENT_TIMEOUT_MS', async () => {
    const timeoutMs = 1_500;
    const capped = await startTestRoomgate({ ...QUIET, ROOMGATE_DB_STATEMENT_TIMEOUT_MS: String(timeoutMs) });
    const c = createRoomgateClient(capped.address, { token: await capped.managementToken() });
    try {
      const { room } = await c.rooms.createRoom({ metadata: '{"v":1}' });
      const roomId = room!.id;
      await whileLocked(
        'SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE',
        [roomId],
        async () => {
          const started = Date.now();
          await expectStatus(c.rooms.updateRoom({ roomId, metadata: '{"v":2}' }, { deadlineMs: Infinity }), status.DEADLINE_EXCEEDED);
          const took = Date.now() - started;
          expect(took).toBeGreaterThanOrEqual(timeoutMs - 50);
          expect(took).toBeLessThan(timeoutMs + 1_500);
          await expectNothingStuck(capped);
        },
        capped,
      );
      expect((await c.rooms.getRoom({ roomId })).room!.metadata).toBe('{"v":1}');
    } finally {
      c.close();
      await capped.close();
    }
  });
});
