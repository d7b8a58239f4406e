// The RedeemJoinCode limiter on real Postgres: the fixed-window upsert, the
// two buckets, the per-instance memo and the purge of ended windows. The file
// has a database of its own; each test uses addresses and code hashes of its
// own, so the tests do not share buckets.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_CACHE } from '../../src/domain/cache-invalidator.js';
import { systemClock } from '../../src/domain/clock.js';
import { DomainError } from '../../src/domain/errors.js';
import { JoinRateLimits, type JoinRateLimitSettings } from '../../src/domain/join-rate-limits.js';
import { PurgeScheduler } from '../../src/domain/purge-scheduler.js';
import { createPool } from '../../src/store/pool.js';
import { PgPurgeStore } from '../../src/store/purge-store.js';
import { PgJoinRateLimitStore } from '../../src/store/join-rate-limits.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let otherPool: ReturnType<typeof createPool>;
beforeAll(async () => {
  db = await createTestDatabase();
  // A second instance's pool: its own connections to the same database.
  otherPool = createPool({ connectionString: db.connectionString, max: 4, onError: () => undefined });
});
afterAll(async () => {
  await otherPool?.end();
  await db?.drop();
});

const settings = (s: Partial<JoinRateLimitSettings> = {}): JoinRateLimitSettings => ({
  perAddress: 3,
  perCode: 5,
  windowSeconds: 60,
  memoCapacity: 100,
  ...s,
});
const limiter = (s?: Partial<JoinRateLimitSettings>, pool = db.pool) => new JoinRateLimits(new PgJoinRateLimitStore(pool), settings(s), systemClock);
const address = () => `198.51.100.${randomBytes(1)[0]! % 250}-${randomBytes(4).toString('hex')}`;
const code = () => randomBytes(32);

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DomainError);
  expect((err as DomainError).code).toBe('ERR_JOIN_RATE_LIMITED');
  return err as DomainError;
}

async function row(bucket: string): Promise<{ attempts: number } | undefined> {
  const { rows } = await db.pool.query<{ attempts: number }>('SELECT attempts FROM join_rate_limits WHERE bucket = $1', [bucket]);
  return rows[0];
}

describe('JoinRateLimits on Postgres', () => {
  it('lets an address make its limit of attempts per window and refuses the next with the retry facts', async () => {
    const l = limiter();
    const a = address();
    for (let i = 0; i < 3; i++) await l.attempt(a, code());
    const err = await refusal(l.attempt(a, code()));
    expect(err.message).toMatch(/from your address: the limit is 3 per 60 s; try again in \d+ s/);
    expect(err.metadata).toMatchObject({ limit: '3', windowSeconds: '60', limitedBy: 'address' });
    const retry = Number(err.metadata.retryAfterSeconds);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
  });

  it('counts every attempt at a code, from all addresses together, and says nothing about the code', async () => {
    const l = limiter({ perAddress: 100 });
    const c = code();
    for (let i = 0; i < 5; i++) await l.attempt(address(), c);
    const err = await refusal(l.attempt(address(), c));
    expect(err.message).toMatch(/at this join code, from all addresses together: the limit is 5 per 60 s/);
    expect(err.message).not.toContain(c.toString('hex'));
    expect(err.metadata).toMatchObject({ limit: '5', limitedBy: 'code' });
    // Other codes are not affected.
    await l.attempt(address(), code());
  });

  it('keys a code by its hash, never by anything else', async () => {
    const c = code();
    const a = address();
    await limiter().attempt(a, c);
    expect(await row(`code:${c.toString('hex')}`)).toEqual({ attempts: 1 });
    expect(await row(`address:${a}`)).toEqual({ attempts: 1 });
  });

  it('does not count at the code an attempt its address was refused', async () => {
    const l = limiter({ memoCapacity: 1 });
    const a = address();
    const c = code();
    for (let i = 0; i < 3; i++) await l.attempt(a, c);
    await refusal(l.attempt(a, c));
    expect(await row(`code:${c.toString('hex')}`)).toEqual({ attempts: 3 });
  });

  it('shares the counts between instances on one database', async () => {
    const one = limiter();
    const two = limiter({}, otherPool);
    const a = address();
    await one.attempt(a, code());
    await two.attempt(a, code());
    await one.attempt(a, code());
    await refusal(two.attempt(a, code()));
  });

  it('lets exactly the limit through when attempts race on two instances', async () => {
    const one = limiter({ perAddress: 10 });
    const two = limiter({ perAddress: 10 }, otherPool);
    const a = address();
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => (i % 2 ? one : two).attempt(a, code())));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as DomainError).code).toBe('ERR_JOIN_RATE_LIMITED');
  });

  it('refuses a blocked address from memory, without another write', async () => {
    const l = limiter();
    const a = address();
    for (let i = 0; i < 3; i++) await l.attempt(a, code());
    await refusal(l.attempt(a, code()));
    expect(await row(`address:${a}`)).toEqual({ attempts: 4 });
    for (let i = 0; i < 20; i++) await refusal(l.attempt(a, code()));
    expect(await row(`address:${a}`)).toEqual({ attempts: 4 });
    expect(l.memoSize).toBe(1);
  });

  it('restarts a window that has ended, in the database time', async () => {
    const l = limiter({ memoCapacity: 1 });
    const a = address();
    for (let i = 0; i < 3; i++) await l.attempt(a, code());
    await refusal(limiter().attempt(a, code()));
    await db.pool.query(`UPDATE join_rate_limits SET window_start = now() - interval '61 seconds' WHERE bucket = $1`, [`address:${a}`]);
    await l.attempt(a, code());
    expect(await row(`address:${a}`)).toEqual({ attempts: 1 });
  });

  it('is purged by the purge scheduler, in batches, leaving live windows', async () => {
    const store = new PgJoinRateLimitStore(db.pool);
    const live = address();
    await limiter().attempt(live, code());
    const stale = Array.from({ length: 25 }, () => address());
    for (const a of stale) await limiter().attempt(a, code());
    await db.pool.query(`UPDATE join_rate_limits SET window_start = now() - interval '5 minutes' WHERE bucket LIKE 'code:%' OR bucket = ANY ($1)`, [
      stale.map((a) => `address:${a}`),
    ]);
    const purge = new PurgeScheduler(new PgPurgeStore(db.pool), NO_CACHE, {
      intervalMs: 60_000,
      maxPerRun: 2,
      idempotencyKeyTtlSeconds: 86_400,
      eventRetentionSeconds: 86_400,
      joinRateLimits: { store, windowSeconds: 60 },
      onError: (err) => {
        throw err;
      },
    });
    // Batches of 200 (maxPerRun × 100), ten batches at most per run: more than the file's rows.
    expect((await purge.runOnce()).joinRateLimits).toBeGreaterThanOrEqual(50);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM join_rate_limits WHERE window_start <= now() - interval '60 seconds'`)).rows[0].n).toBe(0);
    expect(await row(`address:${live}`)).toEqual({ attempts: 1 });
  });

  it('purges the buckets whose window has ended, and only those', async () => {
    const store = new PgJoinRateLimitStore(db.pool);
    const stale = address();
    const fresh = address();
    await limiter().attempt(stale, code());
    await limiter().attempt(fresh, code());
    await db.pool.query(`UPDATE join_rate_limits SET window_start = now() - interval '2 minutes' WHERE bucket = $1`, [`address:${stale}`]);
    const before = (await db.pool.query('SELECT count(*)::int AS n FROM join_rate_limits')).rows[0].n as number;
    expect(await store.purgeStale(60, 1000)).toBe(1);
    expect(await row(`address:${stale}`)).toBeUndefined();
    expect(await row(`address:${fresh}`)).toEqual({ attempts: 1 });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM join_rate_limits')).rows[0].n).toBe(before - 1);
  });
});
