// The bans race of bans-race.test.ts through PgBouncer 1.18 in transaction
// mode (test/support/pgbouncer.ts), where only transaction-scoped state
// survives: the identity lock is a transaction-scoped advisory lock, so it
// holds. Two roomgates serve one database of this file's own through the
// bouncer (ROOMGATE_DB_TRANSACTION_POOLING=true) and LISTEN on it directly.
// Without the binary the test skips, saying so; with
// ROOMGATE_REQUIRE_PGBOUNCER=1 (set by .ci/run) it fails instead.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { bannedPeers, eventsOutOfRoomOrder, raceBansAndJoins } from '../support/ban-race.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { pgbouncerMissing, startPgBouncer, type PgBouncer } from '../support/pgbouncer.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

const REQUIRED = process.env.ROOMGATE_REQUIRE_PGBOUNCER === '1';
const missing = await pgbouncerMissing();
if (missing !== undefined && !REQUIRED) console.warn(`PgBouncer bans test skipped: needs Debian's pgbouncer: ${missing}`);

let bouncer: PgBouncer;
let db: TestDatabase;
const servers: TestRoomgate[] = [];

beforeAll(async () => {
  if (missing !== undefined) return;
  bouncer = await startPgBouncer({ serverUrl: inject('databaseAdminUrl'), poolSize: 4 });
  db = await createTestDatabase();
  const env = {
    DATABASE_URL: bouncer.url(db.name),
    ROOMGATE_DIRECT_DATABASE_URL: db.connectionString,
    ROOMGATE_DB_TRANSACTION_POOLING: 'true',
  };
  const first = await startTestRoomgate(env, { sharing: { db, config: { keyEncryptionKey: randomBytes(32) } as Config } });
  servers.push(first, await startTestRoomgate(env, { sharing: first }));
});
afterAll(async () => {
  for (const s of servers.reverse()) await s.close();
  await db?.drop();
  await bouncer?.stop();
});

beforeEach((ctx) => {
  if (missing === undefined) return;
  if (REQUIRED) throw new Error(`ROOMGATE_REQUIRE_PGBOUNCER=1, but ${missing}`);
  ctx.skip(`needs Debian's pgbouncer: ${missing}`);
});

it('never lets a banned identity in through a transaction pooler either', async () => {
  const [a, b] = servers as [TestRoomgate, TestRoomgate];
  const token = await a.managementToken('sandbox');
  const before = await bouncer.stats(db.name);
  const outcomes = await raceBansAndJoins({ banner: a.client, joiner: b.client, token, rounds: 20, rooms: 3, label: 'pooled' });
  expect(await bannedPeers(db.pool)).toEqual([]);
  expect(await eventsOutOfRoomOrder(db.pool)).toEqual([]);
  expect(outcomes.refused + outcomes.joinedThenDeleted, JSON.stringify(outcomes)).toBeGreaterThan(0);
  expect(bouncer.alive(), bouncer.log()).toBe(true);
  // The calls went through the bouncer.
  expect((await bouncer.stats(db.name)).transactions - before.transactions).toBeGreaterThan(100);
});
