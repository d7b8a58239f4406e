// Two roomgates on one test database of their own, through PgBouncer 1.18 in
// transaction mode (pgbouncer.ts; ROOMGATE_DB_TRANSACTION_POOLING=true), each
// LISTENing on the database directly, with the vitest hooks that start, skip
// and stop them. Without the binary the file's tests skip, saying so; with
// ROOMGATE_REQUIRE_PGBOUNCER=1 (set by .ci/run) they fail instead.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import type { Config } from '../../src/config.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { pgbouncerMissing, startPgBouncer, type PgBouncer } from './pgbouncer.js';
import { startTestRoomgate, type TestRoomgate } from './roomgate.js';

/** What {@link usePooledRoomgates} started, once its beforeAll has run. */
export interface PooledRoomgates {
  servers: [TestRoomgate, TestRoomgate];
  bouncer: PgBouncer;
  db: TestDatabase;
}

/** Registers the hooks for two pooled roomgates; `what` names the file's test in the skip warning. */
export async function usePooledRoomgates(what: string): Promise<PooledRoomgates> {
  const required = process.env.ROOMGATE_REQUIRE_PGBOUNCER === '1';
  const missing = await pgbouncerMissing();
  if (missing !== undefined && !required) console.warn(`PgBouncer ${what} test skipped: needs Debian's pgbouncer: ${missing}`);
  const pooled = {} as PooledRoomgates;
  beforeAll(async () => {
    if (missing !== undefined) return;
    pooled.bouncer = await startPgBouncer({ serverUrl: inject('databaseAdminUrl'), poolSize: 4 });
    pooled.db = await createTestDatabase();
    const env = {
      DATABASE_URL: pooled.bouncer.url(pooled.db.name),
      ROOMGATE_DIRECT_DATABASE_URL: pooled.db.connectionString,
      ROOMGATE_DB_TRANSACTION_POOLING: 'true',
    };
    const first = await startTestRoomgate(env, { sharing: { db: pooled.db, config: { keyEncryptionKey: randomBytes(32) } as Config } });
    pooled.servers = [first, await startTestRoomgate(env, { sharing: first })];
  });
  afterAll(async () => {
    for (const s of [...(pooled.servers ?? [])].reverse()) await s.close();
    await pooled.db?.drop();
    await pooled.bouncer?.stop();
  });
  beforeEach((ctx) => {
    if (missing === undefined) return;
    if (required) throw new Error(`ROOMGATE_REQUIRE_PGBOUNCER=1, but ${missing}`);
    ctx.skip(`needs Debian's pgbouncer: ${missing}`);
  });
  return pooled;
}
