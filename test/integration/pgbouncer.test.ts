// Issue 12: roomgate behind PgBouncer 1.18 (Debian's package) in transaction
// mode, as production fleets deploy it (docs/scaling.md). One bouncer
// (test/support/pgbouncer.ts) fronts the run's Postgres; every roomgate here
// serves a database of this file's own (createTestDatabase) through it with
// ROOMGATE_DB_TRANSACTION_POOLING=true, and reaches the same database directly
// with ROOMGATE_DIRECT_DATABASE_URL for LISTEN and migrations.
//
// The first test shows why the setting exists: named statements, and the
// statement_timeout startup parameter, fail through the bouncer. Without the
// binary the tests skip, saying so; with ROOMGATE_REQUIRE_PGBOUNCER=1 (set by
// .ci/run) they fail instead.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { status } from '@grpc/grpc-js';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it, inject } from 'vitest';
import { TokenInvalidReason as R, type RoomgateClient } from '../../src/client/index.js';
import type { Config } from '../../src/config.js';
import { createPool, prepared, query, withTransaction } from '../../src/store/pool.js';
import { startCluster, type Cluster } from '../support/cluster.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { pgbouncerMissing, startPgBouncer, type PgBouncer } from '../support/pgbouncer.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

const REQUIRED = process.env.ROOMGATE_REQUIRE_PGBOUNCER === '1';
const missing = await pgbouncerMissing();
const SKIP_REASON = `needs Debian's pgbouncer: ${missing}`;
// Said once, in the run's output: the default reporter shows no skip notes.
if (missing !== undefined && !REQUIRED) console.warn(`PgBouncer tests skipped: ${SKIP_REASON}`);

const as = (token: string) => ({ token });
/** The statement every test below runs through the bouncer. */
const ECHO = prepared('pgbouncer_test_echo', 'SELECT $1::int AS n');

let bouncer: PgBouncer;
let db: TestDatabase;
const pools: pg.Pool[] = [];

/** A pool of one connection through the bouncer, ended after the file. */
function bouncerPool(options: { transactionPooling: boolean; statementTimeoutMs?: number }): pg.Pool {
  const pool = createPool({ connectionString: bouncer.url(db.name), max: 1, onError: () => undefined, ...options });
  pools.push(pool);
  return pool;
}

/** What a promise failed with: the SQLSTATE or domain code, and the message. */
async function failure(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'OK',
    (err: { code?: string; message: string; cause?: { message?: string } }) =>
      `${err.code}: ${err.message}${err.cause?.message ? ` (${err.cause.message})` : ''}`,
  );
}

beforeAll(async () => {
  if (missing !== undefined) return;
  // Two server connections for the whole file: many clients share each, as in production.
  bouncer = await startPgBouncer({ serverUrl: inject('databaseAdminUrl'), poolSize: 2 });
  db = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await db?.drop();
  await bouncer?.stop();
});

// Thrown per test rather than from beforeAll, so that each counts as failed, not skipped.
beforeEach((ctx) => {
  if (missing === undefined) return;
  if (REQUIRED) throw new Error(`ROOMGATE_REQUIRE_PGBOUNCER=1, but ${missing}`);
  ctx.skip(SKIP_REASON);
});

describe('the store through PgBouncer 1.18, pool_mode=transaction', () => {
  it('fails without transaction pooling: the statement_timeout startup parameter is refused, and a named statement collides', async () => {
    // What roomgate sends by default (ROOMGATE_DB_STATEMENT_TIMEOUT_MS=30000).
    expect(await failure(query(bouncerPool({ transactionPooling: false, statementTimeoutMs: 30_000 }), 'SELECT 1'))).toMatch(
      /unsupported startup parameter: statement_timeout/,
    );
    // Two clients; the bouncer hands the second the server connection the
    // first prepared the statement on (it reuses the last one freed).
    const first = bouncerPool({ transactionPooling: false });
    const second = bouncerPool({ transactionPooling: false });
    expect((await query<{ n: number }>(first, ECHO, [1])).rows).toEqual([{ n: 1 }]);
    expect(await failure(query(second, ECHO, [2]))).toMatch(/^42P05: prepared statement "roomgate_pgbouncer_test_echo" already exists$/);
  });

  it('with transaction pooling, the same statements run unnamed on any server connection, with the statement timeout set', async () => {
    const clients = [0, 1, 2].map(() => bouncerPool({ transactionPooling: true, statementTimeoutMs: 30_000 }));
    for (let i = 0; i < 9; i++) expect((await query<{ n: number }>(clients[i % 3]!, ECHO, [i])).rows).toEqual([{ n: i }]);
    const seen = await withTransaction(clients[0]!, async (c) => (await query<{ statement_timeout: string }>(c, 'SHOW statement_timeout')).rows[0]!.statement_timeout);
    expect(seen).toBe('30s');
  });

  it('the pool statement timeout still holds: SET LOCAL in a transaction, a CancelRequest forwarded by the bouncer outside one', async () => {
    const pool = bouncerPool({ transactionPooling: true, statementTimeoutMs: 300 });
    for (const run of [() => query(pool, 'SELECT pg_sleep(5)'), () => withTransaction(pool, (c) => query(c, 'SELECT pg_sleep(5)'))]) {
      const t0 = performance.now();
      expect(await failure(run())).toMatch(/^ERR_DB_TIMEOUT: /);
      expect(performance.now() - t0).toBeLessThan(2_000);
    }
    // Before cancel-backend.ts waited for the bouncer to close the cancel
    // connection, PgBouncer 1.18 exited here (FATAL bad client state: 0).
    expect(bouncer.alive(), bouncer.log()).toBe(true);
    // The cancelled connection was discarded; the next statement runs normally.
    expect((await query<{ n: number }>(pool, ECHO, [7])).rows).toEqual([{ n: 7 }]);
  });
});

describe('roomgate through PgBouncer 1.18, pool_mode=transaction', () => {
  let t: TestRoomgate;
  let admin: string;
  const client = (): RoomgateClient => t.client;

  beforeAll(async () => {
    if (missing !== undefined) return;
    t = await startTestRoomgate(
      {
        DATABASE_URL: bouncer.url(db.name),
        ROOMGATE_DIRECT_DATABASE_URL: db.connectionString,
        ROOMGATE_DB_TRANSACTION_POOLING: 'true',
        ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true',
        ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      },
      // The file's database, which afterAll drops.
      { sharing: { db, config: { keyEncryptionKey: randomBytes(32) } as Config } },
    );
    admin = await t.managementToken();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('serves rooms, peers, tokens, revocation, pagination and webhook endpoints, every statement through the bouncer', async () => {
    const before = await bouncer.stats(db.name);
    const c = client();
    const { room } = await c.rooms.createRoom({ maxPeers: 5 }, as(admin));
    const roomId = room!.id;
    const created = await c.peers.createPeer({ roomId, identity: 'alice', permissions: { canPublish: true } }, as(admin));
    const peerId = created.peer!.id;
    expect((await c.peers.listPeers({ roomId }, as(admin))).peers.map((p) => p.id)).toEqual([peerId]);
    expect(await c.tokens.verifyPeerToken({ token: created.peerToken }, as(admin))).toMatchObject({ valid: true });
    const refreshed = (await c.tokens.refreshPeerToken({ tokenTtlSeconds: 600 }, as(created.peerToken))).peerToken;
    expect(await c.tokens.verifyPeerToken({ token: refreshed }, as(admin))).toMatchObject({ valid: true });

    await c.rooms.deleteRoom({ roomId }, as(admin));
    for (const token of [created.peerToken, refreshed]) {
      const res = await c.tokens.verifyPeerToken({ token }, as(admin));
      expect(R[res.reason]).toBe('TOKEN_INVALID_REASON_REVOKED');
    }
    await expectStatus(c.rooms.getRoom({ roomId }, as(admin)), status.NOT_FOUND);

    const made = new Set<string>();
    for (let i = 0; i < 7; i++) made.add((await c.rooms.createRoom({}, as(admin))).room!.id);
    const listed: string[] = [];
    let pageToken = '';
    do {
      const page = await c.rooms.listRooms({ pageSize: 3, pageToken }, as(admin));
      listed.push(...page.rooms.map((r) => r.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(new Set(listed)).toEqual(made);
    expect(listed).toHaveLength(7);

    const { endpoint } = await c.events.createWebhookEndpoint({ url: 'http://127.0.0.1:9/in' }, as(admin));
    const endpointId = endpoint!.id;
    expect((await c.events.listWebhookEndpoints({}, as(admin))).endpoints.map((e) => e.id)).toEqual([endpointId]);
    const updated = await c.events.updateWebhookEndpoint({ endpointId, description: 'through pgbouncer', enabled: false }, as(admin));
    expect(updated.endpoint).toMatchObject({ description: 'through pgbouncer', enabled: false });
    expect((await c.events.getWebhookEndpoint({ endpointId }, as(admin))).endpoint).toMatchObject({ description: 'through pgbouncer' });
    await c.events.deleteWebhookEndpoint({ endpointId }, as(admin));
    await expectStatus(c.events.getWebhookEndpoint({ endpointId }, as(admin)), status.NOT_FOUND);

    // Every one of those calls is a transaction or more through the bouncer.
    const after = await bouncer.stats(db.name);
    expect(after.transactions - before.transactions).toBeGreaterThan(20);
  });
});

describe('two roomgate processes through PgBouncer, listening on the direct URL', () => {
  let cluster: Cluster;
  // A database of their own: its signing keys are sealed with the cluster's KEK.
  let own: TestDatabase;

  beforeAll(async () => {
    if (missing !== undefined) return;
    own = await createTestDatabase();
    cluster = await startCluster({
      databaseUrl: bouncer.url(own.name),
      size: 2,
      env: { ROOMGATE_DIRECT_DATABASE_URL: own.connectionString, ROOMGATE_DB_TRANSACTION_POOLING: 'true' },
    });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await own?.drop();
  });

  it('a peer deleted on one instance is REVOKED on the other within 1 s, with its cache warmed first', async () => {
    const [a, b] = cluster.clients as [RoomgateClient, RoomgateClient];
    const { room } = await a.rooms.createRoom({});
    for (const [origin, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const { peer, peerToken } = await origin.peers.createPeer({ roomId: room!.id, permissions: { canSubscribe: true } });
      // Verified on both first, so each holds the peer in its liveness cache.
      for (const c of [a, b]) expect((await c.tokens.verifyPeerToken({ token: peerToken })).valid).toBe(true);
      await origin.peers.deletePeer({ roomId: room!.id, peerId: peer!.id });
      const t0 = performance.now();
      let answer = '';
      while (performance.now() - t0 < 2_000) {
        const res = await other.tokens.verifyPeerToken({ token: peerToken });
        answer = res.valid ? 'VALID' : (R[res.reason] ?? String(res.reason));
        if (answer !== 'VALID') break;
      }
      expect(answer).toBe('TOKEN_INVALID_REASON_REVOKED');
      expect(performance.now() - t0).toBeLessThan(1_000);
    }
  }, 30_000);
});
