// Issue 7, faults: roomgate instances (test/support/cluster.ts) under a
// steady load of writes from several client loops, each call with a
// deadline, while something fails underneath them.
//
// - Postgres stops for about 3 s and starts again. It is an embedded Postgres
//   of this file's own on a fixed port, as in health-database.test.ts, so
//   stopping it disturbs no other test file.
// - One instance is killed with SIGKILL. That cluster runs on a database of
//   this file's own from the run's shared Postgres (createTestDatabase).
//
// Every call is recorded with its outcome and duration. Afterwards the
// database must hold every write that was acknowledged, and the counters
// roomgate keeps beside its rows must still match them.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoomgateClient } from '../../src/client/index.js';
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from '../../src/gen/grpc/health/v1/health.js';
import { PeerStatus } from '../../src/gen/roomgate/v1/resources.js';
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../src/store/embedded-postgres.js';
import { startCluster, type Cluster } from '../support/cluster.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freePort } from '../support/server-process.js';
import { waitUntil } from '../support/wait-until.js';

/** Deadline of every call of the load. */
const DEADLINE_MS = 2_000;
/** How far past its deadline a call may end: timers and a busy 2-core machine. */
const SLACK_MS = 500;
/** Client loops per instance. */
const LOOPS_PER_INSTANCE = 2;

// ---- the load -------------------------------------------------------------

/** One call of the load, as the client saw it. */
interface Call {
  instance: number;
  op: string;
  /** What the call wrote: the room name or peer identity, unique in the run. */
  key: string;
  /** performance.now() when it was made. */
  start: number;
  ms: number;
  /** 'OK' or the gRPC status name. */
  code: string;
  /** The id of what it created, when it returned OK. */
  id?: string;
}

/** Makes one recorded call; resolves with its response, or undefined when it failed. */
type Caller = <T>(op: string, key: string, fn: (c: RoomgateClient) => Promise<T>, idOf?: (res: T) => string) => Promise<T | undefined>;

/**
 * Runs `iterate` over and over in LOOPS_PER_INSTANCE loops per instance of
 * `cluster`, each loop calling only its own instance, until stopped. A loop
 * pauses briefly after a failed call, so an outage does not turn it into a
 * busy loop.
 */
function runLoad(cluster: Cluster, iterate: (loop: number, n: number, call: Caller) => Promise<void>) {
  const calls: Call[] = [];
  let running = true;
  const loops = Array.from({ length: cluster.clients.length * LOOPS_PER_INSTANCE }, async (_, loop) => {
    const instance = loop % cluster.clients.length;
    const call: Caller = async (op, key, fn, idOf) => {
      const start = performance.now();
      try {
        const res = await fn(cluster.clients[instance]!);
        calls.push({ instance, op, key, start, ms: performance.now() - start, code: 'OK', id: idOf?.(res) });
        return res;
      } catch (err) {
        calls.push({ instance, op, key, start, ms: performance.now() - start, code: status[(err as ServiceError).code] ?? String(err) });
        await sleep(50);
        return undefined;
      }
    };
    for (let n = 0; running; n++) await iterate(loop, n, call);
  });
  return {
    calls,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return calls;
    },
  };
}

/** Calls that did not end as a call with a deadline may: every call ends by its deadline, and only a late one ends DEADLINE_EXCEEDED. */
function overdue(calls: Call[]): string[] {
  return calls.flatMap((c) =>
    c.ms > DEADLINE_MS + SLACK_MS || (c.code === 'DEADLINE_EXCEEDED' && c.ms < DEADLINE_MS - 50)
      ? [`${c.op} ${c.key} on ${c.instance}: ${c.code} after ${c.ms.toFixed(0)} ms`]
      : [],
  );
}

const acknowledged = (calls: Call[], op: string) => calls.filter((c) => c.op === op && c.code === 'OK').map((c) => c.id!);
/** Counts of calls by operation and outcome, in words. */
function summary(calls: Call[]): string {
  const counts = new Map<string, number>();
  for (const c of calls) counts.set(`${c.op} ${c.code}`, (counts.get(`${c.op} ${c.code}`) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k}: ${n}`).join(', ') || 'none';
}

/** Each instance that has exited, with its exit and the end of its stderr; empty while all run. */
function deaths(cluster: Cluster): string {
  return cluster.instances
    .flatMap((p, i) =>
      cluster.alive(i) ? [] : [`instance ${i} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.stderr().trim().split('\n').slice(0, 8).join('\n')}`],
    )
    .join('\n');
}

/** Of `ids`, those with no row in `table`. */
async function missing(pool: pg.Pool, table: 'rooms' | 'peers', ids: string[]): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(`SELECT id::text FROM ${table} WHERE id = ANY ($1::uuid[])`, [ids]);
  const found = new Set(rows.map((r) => r.id));
  return ids.filter((id) => !found.has(id));
}

/** Of the calls that failed UNAVAILABLE, those whose write committed all the same (its answer was lost). */
async function committedAnyway(pool: pg.Pool, calls: Call[]): Promise<string[]> {
  const lost = (op: string) => calls.filter((c) => c.op === op && c.code === 'UNAVAILABLE').map((c) => c.key);
  const { rows } = await pool.query<{ key: string }>(
    `SELECT 'CreateRoom ' || name AS key FROM rooms WHERE name = ANY ($1)
     UNION ALL SELECT 'CreatePeer ' || identity FROM peers WHERE identity = ANY ($2)`,
    [lost('CreateRoom'), lost('CreatePeer')],
  );
  return rows.map((r) => r.key);
}

/**
 * The state roomgate keeps beside its rows still matches them: each room's
 * peer_count and connected_count, its event sequence (1..event_seq, no gap),
 * the environment's room_count, and no idempotency key without its result
 * (the key and its result are written in one transaction). No room is deleted
 * in this file, so each CreateRoom key must name a room that exists.
 */
async function expectConsistent(pool: pg.Pool): Promise<void> {
  const { rows: rooms } = await pool.query(`
    SELECT r.id, r.peer_count, r.connected_count, r.event_seq::int,
      (SELECT count(*)::int FROM peers p WHERE p.room_id = r.id) AS peers,
      (SELECT count(*)::int FROM peers p WHERE p.room_id = r.id AND p.status = 'connected') AS connected,
      (SELECT count(*)::int FROM events e WHERE e.room_id = r.id) AS events,
      (SELECT coalesce(max(e.room_seq), 0)::int FROM events e WHERE e.room_id = r.id) AS last_seq
    FROM rooms r`);
  expect(rooms.length).toBeGreaterThan(0);
  const off = rooms.filter(
    (r) => r.peer_count !== r.peers || r.connected_count !== r.connected || r.event_seq !== r.events || r.event_seq !== r.last_seq,
  );
  expect(off, 'rooms whose counters do not match their rows').toEqual([]);
  const { rows: usage } = await pool.query(`
    SELECT e.environment, u.room_count, (SELECT count(*)::int FROM rooms r WHERE r.environment = e.environment) AS rooms
    FROM (SELECT DISTINCT environment FROM rooms UNION SELECT environment FROM environment_usage) e
    LEFT JOIN environment_usage u USING (environment)`);
  expect(usage.filter((u) => u.room_count !== u.rooms), 'environment_usage.room_count against the rooms').toEqual([]);
  const { rows: keys } = await pool.query(`
    SELECT k.operation, k.request_id FROM idempotency_keys k
    WHERE k.result IS NULL
       OR (k.operation = 'CreateRoom' AND NOT EXISTS (SELECT 1 FROM rooms r WHERE r.id = (k.result->>'roomId')::uuid))`);
  expect(keys, 'idempotency keys without a result, or naming a room that does not exist').toEqual([]);
}

// ---- Postgres restarts ------------------------------------------------------

describe('Postgres stops for 3 s under load', () => {
  let dir: string;
  let port: number;
  let pgServer: EmbeddedPostgresServer | undefined;
  let cluster: Cluster | undefined;
  let pool: pg.Pool | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'roomgate-faults-'));
    // As root, embedded Postgres runs as the postgres user, which must reach the directory.
    await chmod(dir, 0o755);
    port = await freePort();
    pgServer = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), port });
    cluster = await startCluster({ databaseUrl: pgServer.connectionString, size: 3 });
    pool = new pg.Pool({ connectionString: pgServer.connectionString, max: 2 });
    pool.on('error', () => undefined);
  });

  afterAll(async () => {
    await cluster?.stop();
    await pool?.end();
    await pgServer?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('servers stay up, calls fail fast with UNAVAILABLE, health follows, and every acknowledged write survives', async () => {
    const c = cluster!;
    const watches = c.instances.map((p) => {
      const health = new HealthClient(p.address, credentials.createInsecure());
      const seen: (Serving | string)[] = [];
      const stream = health.watch({ service: '' });
      stream.on('data', (r: { status: Serving }) => seen.push(r.status));
      stream.on('error', (err: ServiceError) => err.code !== status.CANCELLED && seen.push(`stream ended: ${status[err.code]}`));
      return { seen, close: () => (stream.cancel(), health.close()) };
    });
    const lastRoom = new Map<number, string>();
    const load = runLoad(c, async (loop, n, call) => {
      const key = `l${loop}-${n}`;
      const room = await call('CreateRoom', key, (rg) => rg.rooms.createRoom({ name: key, requestId: key }, { deadlineMs: DEADLINE_MS }), (r) => r.room!.id);
      if (room) lastRoom.set(loop, room.room!.id);
      const roomId = lastRoom.get(loop);
      if (!roomId) return;
      await call('CreatePeer', key, (rg) => rg.peers.createPeer({ roomId, identity: key, requestId: `p-${key}` }, { deadlineMs: DEADLINE_MS }), (r) => r.peer!.id);
    });
    let calls: Call[] = [];
    try {
      await sleep(1_500);
      const down = performance.now();
      await pgServer!.stop();
      await waitUntil(() => watches.every((w) => w.seen.at(-1) === Serving.NOT_SERVING), 10_000).catch((err: Error) => {
        throw new Error(`${err.message}: health seen ${JSON.stringify(watches.map((w) => w.seen))}\n${deaths(c)}`);
      });
      const notServingAfter = performance.now() - down;
      await sleep(Math.max(0, down + 3_000 - performance.now()));
      const up = performance.now();
      pgServer = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), port });
      await waitUntil(() => watches.every((w) => w.seen.at(-1) === Serving.SERVING), 15_000);
      const serving = performance.now();
      await sleep(2_000);
      calls = await load.stop();

      const during = calls.filter((x) => x.start >= down && x.start < serving);
      const after = calls.filter((x) => x.start >= serving);
      const lost = await committedAnyway(pool!, calls);
      console.log(
        `[faults] Postgres down for ${(up - down).toFixed(0)} ms; every instance NOT_SERVING after ${notServingAfter.toFixed(0)} ms, ` +
          `SERVING ${(serving - up).toFixed(0)} ms after the restart began\n` +
          `[faults] before: ${summary(calls.filter((x) => x.start < down))}\n[faults] during: ${summary(during)}\n[faults] after: ${summary(after)}\n` +
          `[faults] slowest failure: ${Math.max(0, ...calls.filter((x) => x.code !== 'OK').map((x) => x.ms)).toFixed(0)} ms; ` +
          `failed UNAVAILABLE but committed: ${lost.length}${lost.length ? ` (${lost.join(', ')})` : ''}`,
      );

      expect(deaths(c), 'instances that exited').toBe('');
      expect(watches.map((w) => w.seen.filter((s, i) => s !== w.seen[i - 1]))).toEqual(
        Array(3).fill([Serving.SERVING, Serving.NOT_SERVING, Serving.SERVING]),
      );
      expect(overdue(calls)).toEqual([]);
      expect(calls.filter((x) => x.start + x.ms < down && x.code !== 'OK').map((x) => `${x.op} ${x.code}`), 'failures before the outage').toEqual([]);
      expect(during.filter((x) => x.code === 'UNAVAILABLE').length, 'calls refused UNAVAILABLE during the outage').toBeGreaterThan(0);
      expect(calls.filter((x) => !['OK', 'UNAVAILABLE', 'DEADLINE_EXCEEDED'].includes(x.code)).map((x) => `${x.op} ${x.code}`)).toEqual([]);
      expect(after.filter((x) => x.code !== 'OK').map((x) => `${x.op} on ${x.instance}: ${x.code}`), 'failures once SERVING again').toEqual([]);
      for (let i = 0; i < 3; i++) expect(after.filter((x) => x.instance === i).length, `calls served by instance ${i} afterwards`).toBeGreaterThan(0);

      expect(await missing(pool!, 'rooms', acknowledged(calls, 'CreateRoom')), 'acknowledged rooms missing').toEqual([]);
      expect(await missing(pool!, 'peers', acknowledged(calls, 'CreatePeer')), 'acknowledged peers missing').toEqual([]);
      await expectConsistent(pool!);
    } finally {
      await load.stop();
      for (const w of watches) w.close();
    }
  }, 45_000);
});

// ---- SIGKILL of one instance --------------------------------------------------

describe('one of three instances is killed with SIGKILL under load', () => {
  let db: TestDatabase | undefined;
  let cluster: Cluster | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await startCluster({ databaseUrl: db.connectionString, size: 3 });
  });

  afterAll(async () => {
    await cluster?.stop();
    await db?.drop();
  });

  it('the others keep serving every call, and the state stays consistent', async () => {
    const c = cluster!;
    const pool = db!.pool;
    // Rooms every loop writes to, so that the killed instance's transactions hold locks the others need.
    const shared = await Promise.all([0, 1, 2, 3].map(async (i) => (await c.client(i).rooms.createRoom({ name: `shared-${i}` })).room!.id));
    const load = runLoad(c, async (loop, n, call) => {
      const key = `k${loop}-${n}`;
      const roomId = shared[n % shared.length]!;
      const created = await call('CreatePeer', key, (rg) => rg.peers.createPeer({ roomId, identity: key, requestId: key }), (r) => r.peer!.id);
      if (!created) return;
      const peerId = created.peer!.id;
      if (n % 2 === 0) {
        await call('ReportPeerStatus', key, (rg) => rg.peers.reportPeerStatus({ roomId, peerId, status: PeerStatus.PEER_STATUS_CONNECTED }), () => peerId);
      }
      if (n % 3 === 0) await call('DeletePeer', key, (rg) => rg.peers.deletePeer({ roomId, peerId }), () => peerId);
      if (n % 5 === 0) await call('CreateRoom', key, (rg) => rg.rooms.createRoom({ name: key, requestId: `r-${key}` }), (r) => r.room!.id);
    });
    let calls: Call[] = [];
    try {
      await sleep(1_500);
      const victim = c.instances[2]!.child;
      const killed = performance.now();
      const exited = new Promise((resolve) => victim.once('exit', (_code, signal) => resolve(signal)));
      victim.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      await sleep(2_500);
      calls = await load.stop();

      const survivors = calls.filter((x) => x.instance !== 2);
      const victimCalls = calls.filter((x) => x.instance === 2);
      const lost = await committedAnyway(pool, calls);
      console.log(
        `[faults] instances 0 and 1: ${summary(survivors)}\n[faults] killed instance 2: ${summary(victimCalls)}\n` +
          `[faults] failed UNAVAILABLE but committed: ${lost.length}${lost.length ? ` (${lost.join(', ')})` : ''}`,
      );
      expect([c.alive(0), c.alive(1)]).toEqual([true, true]);
      expect(survivors.filter((x) => x.code !== 'OK').map((x) => `${x.op} ${x.key} on ${x.instance}: ${x.code}`)).toEqual([]);
      for (const i of [0, 1]) {
        expect(survivors.filter((x) => x.instance === i && x.start > killed + 500).length, `calls served by ${i} after the kill`).toBeGreaterThan(0);
      }
      expect(victimCalls.filter((x) => x.start + x.ms < killed && x.code !== 'OK'), 'failures on instance 2 before the kill').toEqual([]);
      expect([...new Set(victimCalls.filter((x) => x.code !== 'OK').map((x) => x.code))]).toEqual(['UNAVAILABLE']);
      expect(overdue(calls)).toEqual([]);

      // Acknowledged writes, and acknowledged deletes, as the database holds them.
      const deleted = new Set(acknowledged(calls, 'DeletePeer'));
      // A DeletePeer the killed instance received may have committed without an answer: its peer may be gone.
      const maybeDeleted = new Set(calls.filter((x) => x.op === 'DeletePeer' && x.code !== 'OK').map((x) => x.key));
      const acked = (op: string) => calls.filter((x) => x.op === op && x.code === 'OK' && !maybeDeleted.has(x.key) && !deleted.has(x.id!));
      const connected = acked('ReportPeerStatus').map((x) => x.id!);
      expect(await missing(pool, 'rooms', acknowledged(calls, 'CreateRoom'))).toEqual([]);
      expect(await missing(pool, 'peers', acked('CreatePeer').map((x) => x.id!))).toEqual([]);
      const { rows } = await pool.query<{ id: string; status: string }>('SELECT id::text, status FROM peers WHERE id = ANY ($1::uuid[])', [
        [...deleted, ...connected],
      ]);
      expect(rows.filter((r) => deleted.has(r.id)), 'acknowledged deletes still present').toEqual([]);
      expect(rows.filter((r) => r.status !== 'connected'), 'acknowledged CONNECTED reports not recorded').toEqual([]);
      expect(rows).toHaveLength(connected.length);
      await expectConsistent(pool);

      // Postgres noticed the dead process: its listener session is gone, and no transaction is left open.
      await waitUntil(async () => {
        const { rows: sessions } = await pool.query<{ listeners: number; open: number }>(
          `SELECT count(*) FILTER (WHERE application_name = 'roomgate-listener')::int AS listeners,
                  count(*) FILTER (WHERE state LIKE 'idle in transaction%')::int AS open
           FROM pg_stat_activity WHERE datname = $1`,
          [db!.name],
        );
        return sessions[0]!.listeners === 2 && sessions[0]!.open === 0;
      }, 5_000);
    } finally {
      await load.stop();
    }
  }, 40_000);
});
