// Audit retention over real Postgres (a database of this file's own; see
// test/support/database.ts): the purge scheduler's audit pruning on
// PgAuditStore, with records appended through SQL as the chain requires
// (test/support/audit-seed.ts), old ones backdated at append time (the time is
// hashed, so it cannot be moved afterwards). `roomgate audit verify` runs as a
// real process on the pruned chain.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_CACHE } from '../../src/domain/cache-invalidator.js';
import { verifyChain } from '../../src/domain/audit-verifier.js';
import { PurgeScheduler } from '../../src/domain/purge-scheduler.js';
import type { PurgeStore } from '../../src/domain/ports/index.js';
import { PgAuditStore } from '../../src/store/audit-store.js';
import { appendAuditRecord, appendAuditRecords } from '../support/audit-seed.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { baseEnv, ROOMGATE_BIN as BIN } from '../support/server-process.js';

const DAY = 86_400;
let db: TestDatabase;
let store: PgAuditStore;

// Only audit retention is under test: the other purges find nothing to do.
const idle: PurgeStore = {
  purgeDisconnectedPeer: async () => undefined,
  purgePeerlessRoom: async () => undefined,
  expireBans: async () => 0,
  expireIdempotencyKeys: async () => 0,
  pruneEvents: async () => 0,
};

const scheduler = (retentionDays: number, maxPerRun = 100) =>
  new PurgeScheduler(idle, NO_CACHE, {
    intervalMs: 60_000,
    maxPerRun,
    idempotencyKeyTtlSeconds: DAY,
    eventRetentionSeconds: DAY,
    audit: { store, retentionSeconds: retentionDays * DAY },
    onError: (err) => {
      throw err;
    },
  });

const daysAgo = (days: number) => new Date(Date.now() - days * DAY * 1000);

async function head(environment: string) {
  const { rows } = await db.pool.query('SELECT sequence::text, hash, anchor_sequence::text, anchor_hash FROM audit_chain_heads WHERE environment = $1', [environment]);
  return rows[0] as { sequence: string; hash: string; anchor_sequence: string; anchor_hash: string };
}

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PgAuditStore(db.pool);
});
afterAll(() => db?.drop());

describe('audit retention', () => {
  it('deletes records past retention oldest first, sets the anchor to the last one deleted, and verify still passes', async () => {
    // 25 old sandbox records, then 5 recent; production has 3 old and 2 recent.
    const old = await appendAuditRecords(db.pool, 25, (i) => ({ time: daysAgo(400 - i) }));
    const recent = await appendAuditRecords(db.pool, 5, () => ({ time: daysAgo(1) }));
    const prodOld = await appendAuditRecords(db.pool, 3, () => ({ environment: 'production', time: daysAgo(500) }));
    await appendAuditRecords(db.pool, 2, () => ({ environment: 'production', time: daysAgo(2) }));

    // Batches of maxPerRun * 10 = 10 records: three for sandbox, one for production.
    expect((await scheduler(365, 1).runOnce()).auditEvents).toBe(28);
    const { rows } = await db.pool.query<{ environment: string; sequence: string }>('SELECT environment, sequence::text FROM audit_events ORDER BY environment, sequence');
    expect(rows).toEqual([
      ...['4', '5'].map((sequence) => ({ environment: 'production', sequence })),
      ...recent.map((r) => ({ environment: 'sandbox', sequence: r.sequence })),
    ]);
    expect(await head('sandbox')).toMatchObject({ sequence: '30', anchor_sequence: '25', anchor_hash: old[24]!.hash, hash: recent[4]!.hash });
    expect(await head('production')).toMatchObject({ anchor_sequence: '3', anchor_hash: prodOld[2]!.hash });

    const ran = await promisify(execFile)(process.execPath, [BIN, 'audit', 'verify'], { env: { ...baseEnv, DATABASE_URL: db.connectionString } });
    expect(ran.stdout).toBe(
      `sandbox: OK, 5 records (sequence 26-30, after the retention anchor); head 30 ${recent[4]!.hash}\n` +
        `production: OK, 2 records (sequence 4-5, after the retention anchor); head 5 ${(await head('production')).hash}\n`,
    );
    // Nothing more to prune; the anchor stays.
    expect((await scheduler(365).runOnce()).auditEvents).toBe(0);
    expect((await head('sandbox')).anchor_sequence).toBe('25');
  });

  it('deletes only a prefix of the chain: an old record after a newer one waits for it', async () => {
    // Production now holds sequences 4 and 5, two days old.
    expect(await store.pruneAuditEvents('production', DAY, 100)).toBe(2);
    const recent = await appendAuditRecord(db.pool, { environment: 'production', time: daysAgo(3) });
    const late = await appendAuditRecord(db.pool, { environment: 'production', time: daysAgo(40) });
    expect(await store.pruneAuditEvents('production', 30 * DAY, 100)).toBe(0);
    const { rows } = await db.pool.query<{ sequence: string }>(`SELECT sequence::text FROM audit_events WHERE environment = 'production' ORDER BY sequence`);
    expect(rows.map((r) => r.sequence)).toEqual([recent.sequence, late.sequence]);
    expect((await head('production')).anchor_sequence).toBe('5');
    const verdict = await store.inSnapshot((s) => verifyChain(s, 'production'));
    expect(verdict).toMatchObject({ ok: true, records: 2, firstSequence: '6' });
  });

  it('keeps the chain unbroken while appends and prunes from several connections run at once', async () => {
    const before = BigInt((await head('sandbox')).sequence);
    // Appenders and pruners race; the pruners use a tiny batch so they take the head lock often.
    const appends = Array.from({ length: 40 }, (_, i) => appendAuditRecord(db.pool, { time: i % 2 === 0 ? daysAgo(500) : daysAgo(0) }));
    // An hour's retention: the five day-old records left by the first test go, and old appends with them.
    const prunes = Array.from({ length: 20 }, () => store.pruneAuditEvents('sandbox', 3600, 2));
    const [, pruned] = await Promise.all([Promise.all(appends), Promise.all(prunes)]);
    const h = await head('sandbox');
    expect(BigInt(h.sequence)).toBe(before + 40n);
    expect(pruned.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const verdict = await store.inSnapshot((s) => verifyChain(s, 'sandbox', 7));
    expect(verdict).toMatchObject({ ok: true, headSequence: h.sequence, firstSequence: (BigInt(h.anchor_sequence) + 1n).toString() });
  });

  it('ROOMGATE_AUDIT_RETENTION_DAYS defaults to a year and is refused below a day', async () => {
    const { loadConfig } = await import('../../src/config.js');
    const env = { DATABASE_URL: db.connectionString, ROOMGATE_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') };
    expect(loadConfig(env).auditRetentionSeconds).toBe(365 * DAY);
    expect(loadConfig({ ...env, ROOMGATE_AUDIT_RETENTION_DAYS: '30' }).auditRetentionSeconds).toBe(30 * DAY);
    expect(() => loadConfig({ ...env, ROOMGATE_AUDIT_RETENTION_DAYS: '0' })).toThrow(/ROOMGATE_AUDIT_RETENTION_DAYS/);
  });
});
