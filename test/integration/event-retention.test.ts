// Event retention over real Postgres: a full roomgate (startTestRoomgate, on
// this file's own database) writes the events and serves WatchEvents with a
// retention of one hour; its own purge runs once an hour, so only the
// PurgeSchedulers and PgPurgeStore calls made here delete anything. Events are
// made old by moving their created_at back, which is what the purge reads.
// The relay is off and the webhook endpoint here is disabled, so no delivery
// changes state behind the tests' backs.
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_CACHE } from '../../src/domain/cache-invalidator.js';
import { PurgeScheduler } from '../../src/domain/purge-scheduler.js';
import type { PurgeStore } from '../../src/domain/ports/index.js';
import { PgPurgeStore } from '../../src/store/purge-store.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';
import { Watch } from '../support/watch.js';

const RETENTION_S = 3600;

let t: TestRoomgate;
let admin: string;
let endpointId: string;

beforeAll(async () => {
  t = await startTestRoomgate({
    ROOMGATE_PURGE_INTERVAL_MS: '3600000',
    ROOMGATE_EVENT_RETENTION_SECONDS: String(RETENTION_S),
    ROOMGATE_RELAY_ENABLED: 'false',
  });
  admin = await t.managementToken('sandbox');
  endpointId = randomUUID();
  await t.db.pool.query(
    `INSERT INTO webhook_endpoints (id, environment, url, enabled, secret_encrypted) VALUES ($1, 'sandbox', 'https://hooks.example/x', false, $2)`,
    [endpointId, randomBytes(16)],
  );
});
afterAll(() => t?.close());

const as = (token: string) => ({ token });

/** Creates a room and returns the ids of its events (room_created), in stream order. */
async function roomEvents(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    const { rows } = await t.db.pool.query<{ id: string }>('SELECT id FROM events WHERE room_id = $1', [room!.id]);
    ids.push(...rows.map((r) => r.id));
  }
  return ids;
}

/**
 * Moves events' created_at back by `seconds` (past retention when more than
 * RETENTION_S), then waits until the stream could return every event: the
 * purge leaves the others alone, and on a Postgres shared with other test
 * runs, any of their transactions holds back the cluster-wide xmin.
 */
async function age(ids: string[], seconds: number): Promise<void> {
  await t.db.pool.query(`UPDATE events SET created_at = created_at - make_interval(secs => $2) WHERE id = ANY ($1::uuid[])`, [ids, seconds]);
  await readable();
}

async function readable(timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const check = `SELECT pg_snapshot_xmin(pg_current_snapshot()) > coalesce((SELECT max(txid) FROM events), '0'::xid8) AS ok`;
  while (!(await t.db.pool.query<{ ok: boolean }>(check)).rows[0]!.ok) {
    if (Date.now() > deadline) throw new Error('a transaction held the stream back for too long');
    await sleep(50);
  }
}

async function deliver(eventId: string, state: 'pending' | 'delivered' | 'failed'): Promise<void> {
  await t.db.pool.query(
    `INSERT INTO webhook_deliveries (event_id, endpoint_id, room_id, room_seq, state)
     SELECT id, $2, room_id, room_seq, $3 FROM events WHERE id = $1`,
    [eventId, endpointId, state],
  );
}

async function existing(table: 'events' | 'webhook_deliveries', ids: string[]): Promise<Set<string>> {
  const column = table === 'events' ? 'id' : 'event_id';
  const { rows } = await t.db.pool.query<{ id: string }>(`SELECT ${column} AS id FROM ${table} WHERE ${column} = ANY ($1::uuid[])`, [ids]);
  return new Set(rows.map((r) => r.id));
}

describe('event retention', () => {
  it('deletes events older than retention in batches, with their delivered and failed deliveries, and keeps those a pending delivery needs', async () => {
    const old = await roomEvents(25);
    const young = await roomEvents(3);
    await age(old, RETENTION_S + 60);
    const [pending1, pending2, delivered, failed] = old as [string, string, string, string];
    await deliver(pending1, 'pending');
    await deliver(pending2, 'pending');
    await deliver(delivered, 'delivered');
    await deliver(failed, 'failed');
    await deliver(young[0]!, 'delivered');

    // Every batch the scheduler asks for, through the real store.
    const store = new PgPurgeStore(t.db.pool);
    const batches: Array<{ limit: number; deleted: number }> = [];
    const recording: PurgeStore = {
      purgeDisconnectedPeer: () => store.purgeDisconnectedPeer(),
      purgePeerlessRoom: () => store.purgePeerlessRoom(),
      expireIdempotencyKeys: (s, n) => store.expireIdempotencyKeys(s, n),
      expireBans: (n) => store.expireBans(n),
      pruneEvents: async (s, n) => {
        const deleted = await store.pruneEvents(s, n);
        batches.push({ limit: n, deleted });
        return deleted;
      },
    };
    // maxPerRun 1: batches of 10 events.
    const purge = new PurgeScheduler(recording, NO_CACHE, {
      intervalMs: 60_000,
      maxPerRun: 1,
      idempotencyKeyTtlSeconds: 86_400,
      eventRetentionSeconds: RETENTION_S,
      onError: (err) => {
        throw err;
      },
    });
    expect(await purge.runOnce()).toMatchObject({ events: 23 });
    expect(batches).toEqual([
      { limit: 10, deleted: 10 },
      { limit: 10, deleted: 10 },
      { limit: 10, deleted: 3 },
    ]);

    expect(await existing('events', old)).toEqual(new Set([pending1, pending2]));
    expect(await existing('events', young)).toEqual(new Set(young));
    expect(await existing('webhook_deliveries', [pending1, pending2, delivered, failed, young[0]!])).toEqual(
      new Set([pending1, pending2, young[0]!]),
    );
    expect(await purge.runOnce()).toMatchObject({ events: 0 });

    // Once delivered, the event goes at the next run.
    await t.db.pool.query(`UPDATE webhook_deliveries SET state = 'delivered' WHERE event_id = $1`, [pending1]);
    expect(await purge.runOnce()).toMatchObject({ events: 1 });
    expect(await existing('events', old)).toEqual(new Set([pending2]));
  });

  it('leaves no rows behind 200 rooms created and deleted, once their events are past retention', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const { room } = await t.client.rooms.createRoom({}, as(admin));
      await t.client.rooms.deleteRoom({ roomId: room!.id }, as(admin));
      ids.push(room!.id);
    }
    const count = async () =>
      Number((await t.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE room_id = ANY ($1::uuid[])', [ids])).rows[0]!.n);
    const before = await count();
    expect(before).toBeGreaterThanOrEqual(400);
    await t.db.pool.query(`UPDATE events SET created_at = created_at - interval '2 hours' WHERE room_id = ANY ($1::uuid[])`, [ids]);
    await readable();
    const purge = new PurgeScheduler(new PgPurgeStore(t.db.pool), NO_CACHE, {
      intervalMs: 60_000,
      idempotencyKeyTtlSeconds: 86_400,
      eventRetentionSeconds: RETENTION_S,
      onError: () => undefined,
    });
    expect(await purge.runOnce()).toMatchObject({ events: before });
    expect(await count()).toBe(0);
    console.log(`200 rooms created and deleted: ${before} event rows before the purge, ${await count()} after`);
  });

  it('leaves an event past retention alone while a transaction that began before it still runs, as the stream cannot return it yet', async () => {
    const holder = await t.db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_current_xact_id()');
      const [held] = await roomEvents(1);
      await t.db.pool.query(`UPDATE events SET created_at = created_at - interval '2 hours' WHERE id = $1`, [held]);
      const store = new PgPurgeStore(t.db.pool);
      expect(await store.pruneEvents(RETENTION_S, 100)).toBe(0);
      await holder.query('COMMIT');
      await readable();
      expect(await store.pruneEvents(RETENTION_S, 100)).toBe(1);
    } finally {
      holder.release();
    }
  });

  it('finds the oldest events through events_created_at_idx', async () => {
    const client = await t.db.pool.connect();
    try {
      // On a table this small the planner would scan anyway; forbidding that shows the index serves the query.
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM events WHERE created_at < now() - interval '1 hour' ORDER BY created_at LIMIT 10`,
      );
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/events_created_at_idx/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('WatchEvents and retention', () => {
  it('refuses a cursor older than what retention deleted with OUT_OF_RANGE that says what to do, and accepts one at or after it', async () => {
    const watch = new Watch(t.client.eventStream, {}, admin);
    await watch.subscribed;
    const [a, b] = await roomEvents(2);
    const [first, second] = await watch.received(2);
    watch.cancel();
    expect([first!.id, second!.id]).toEqual([a, b]);

    await age([a!, b!], RETENTION_S + 60);
    expect(await new PgPurgeStore(t.db.pool).pruneEvents(RETENTION_S, 100)).toBeGreaterThanOrEqual(2);

    // `first`'s cursor would resume at b, which is gone: refused, not skipped.
    const stale = new Watch(t.client.eventStream, { afterCursor: first!.cursor }, admin);
    const err = await stale.ended();
    expect(err.code).toBe(status.OUT_OF_RANGE);
    expect(err.details).toBe(
      'after_cursor: the cursor is older than the event retention (1 hour) and events after it were deleted: ' +
        'watch again without after_cursor and resync with ListRooms and ListPeers',
    );
    expect(statusDetailsOf(err.metadata).errorInfo).toMatchObject([
      { reason: 'ERR_EVENT_CURSOR_EXPIRED', metadata: { retentionSeconds: '3600', field: 'after_cursor' } },
    ]);
    expect(stale.events).toEqual([]);

    // `second`'s cursor missed nothing (b was the last event deleted): it still works, as does a watch without a cursor.
    const fresh = new Watch(t.client.eventStream, { afterCursor: second!.cursor }, admin);
    const fromHead = new Watch(t.client.eventStream, {}, admin);
    await Promise.all([fresh.subscribed, fromHead.subscribed]);
    const [c] = await roomEvents(1);
    expect((await fresh.received(1)).map((e) => e.id)).toEqual([c]);
    expect((await fromHead.received(1)).map((e) => e.id)).toEqual([c]);
    fresh.cancel();
    fromHead.cancel();
  });

  it('keeps serving a cursor within retention while older events are pruned', async () => {
    const [older] = await roomEvents(1);
    const watch = new Watch(t.client.eventStream, {}, admin);
    await watch.subscribed;
    const [recent] = await roomEvents(1);
    const [got] = await watch.received(1);
    watch.cancel();
    await age([older!], RETENTION_S + 60);
    expect(await new PgPurgeStore(t.db.pool).pruneEvents(RETENTION_S, 100)).toBe(1);

    // A cursor before `recent` (the subscription point) is after `older`: nothing it needs was deleted.
    const resumed = new Watch(t.client.eventStream, { afterCursor: got!.cursor }, admin);
    await resumed.subscribed;
    const [next] = await roomEvents(1);
    expect((await resumed.received(1)).map((e) => e.id)).toEqual([next]);
    expect(got!.id).toBe(recent);
    resumed.cancel();
  });
});
