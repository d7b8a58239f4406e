// Signing-key rotation across instances on real Postgres: two key rings with
// their own caches on one database, as two roomgate processes would run. Each
// test gets a fresh database, so no rotation carries over between tests.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keysCommand } from '../../src/cli/key-commands.js';
import { ManualClock } from '../../src/domain/clock.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import { NOTIFY_CHANNELS } from '../../src/domain/revocation-notice.js';
import { PgSigningKeyStore } from '../../src/store/signing-key-store.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ADMIN as admin, jwksKids as kids, keyInstance, kidOf, PREPUBLISH, RETIRE_AFTER } from '../support/key-rotation.js';

const SIGNING_KEYS_CHANNEL = NOTIFY_CHANNELS.signingKeys;

let db: TestDatabase;
let kek: Buffer;
let pools: pg.Pool[] = [];
beforeEach(async () => {
  db = await createTestDatabase();
  kek = randomBytes(32);
});
afterEach(async () => {
  await Promise.all(pools.map((p) => p.end()));
  pools = [];
  await db?.drop();
});

/** One roomgate process on the test database: a pool, key ring and manager of its own. */
async function instance(clock: ManualClock, key = kek) {
  const pool = new pg.Pool({ connectionString: db.connectionString, max: 4, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined);
  pools.push(pool);
  return keyInstance(new PgSigningKeyStore(pool), new KeyEncryptor(key), clock);
}

async function listen(): Promise<{ payloads: string[]; client: pg.PoolClient }> {
  const client = await db.pool.connect();
  const payloads: string[] = [];
  client.on('notification', (n) => {
    if (n.channel === SIGNING_KEYS_CHANNEL) payloads.push(n.payload ?? '');
  });
  await client.query(`LISTEN ${SIGNING_KEYS_CHANNEL}`);
  return { payloads, client };
}

describe('signing-key rotation across instances', () => {
  it('is announced, published by the other instance after its reload, and used by both from activation on', async () => {
    const clock = new ManualClock(new Date());
    const [a, b] = [await instance(clock), await instance(clock)];
    const oldKid = a.ring.current().kid;
    expect(b.ring.current().kid).toBe(oldKid);
    const listener = await listen();

    const { key } = await a.manager.rotate(admin);
    await vi.waitFor(() => expect(listener.payloads).toEqual([key.kid]));
    listener.client.release();
    expect(kids(a.ring)).toEqual([key.kid, oldKid]);
    await b.ring.reload();
    expect(kids(b.ring)).toEqual([key.kid, oldKid]);
    expect(b.ring.current().kid).toBe(oldKid);
    expect((await b.manager.list(admin)).map((k) => [k.kid, k.state])).toEqual([
      [key.kid, 'next'],
      [oldKid, 'current'],
    ]);

    clock.advance(PREPUBLISH - 1);
    const lastOldFromB = await b.sign(DEFAULT_LIMITS.maxTokenTtlSeconds);
    expect(kidOf(lastOldFromB)).toBe(oldKid);

    clock.advance(1);
    const fromA = await a.sign();
    const fromB = await b.sign();
    expect([kidOf(fromA), kidOf(fromB)]).toEqual([key.kid, key.kid]);
    expect(await a.tokens.check(fromB)).toMatchObject({ valid: true });
    expect(await b.tokens.check(fromA)).toMatchObject({ valid: true });
    expect(await a.tokens.check(lastOldFromB)).toMatchObject({ valid: true });
    expect((await a.manager.list(admin)).map((k) => [k.kid, k.state])).toEqual([
      [key.kid, 'current'],
      [oldKid, 'previous'],
    ]);

    clock.advance(RETIRE_AFTER);
    await b.ring.reload();
    for (const x of [a, b]) {
      expect(kids(x.ring)).toEqual([key.kid]);
      expect(await x.tokens.check(lastOldFromB)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
    }
  });

  it('lets exactly one of concurrent rotations through; the others get ERR_ROTATION_PENDING', async () => {
    const clock = new ManualClock(new Date());
    const [a, b] = [await instance(clock), await instance(clock)];
    // Open the connections first, so the rotations race in the database
    // rather than queue behind connection setup.
    await Promise.all(pools.flatMap((p) => Array.from({ length: 3 }, () => p.query('SELECT pg_sleep(0.05)'))));
    for (let round = 1; round <= 3; round++) {
      const results = await Promise.allSettled([a, b, a, b, a, b].map((x) => x.manager.rotate(admin)));
      const lost = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const err of lost) {
        expect(err).toMatchObject({ code: 'ERR_ROTATION_PENDING', message: expect.stringMatching(/starts signing at/) });
      }
      const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM signing_keys');
      expect(rows[0]?.n).toBe(1 + round);
      clock.advance(PREPUBLISH);
    }
  });

  it('switches every instance at once with prepublish 0, keeping the old key for verification', async () => {
    const clock = new ManualClock(new Date());
    const [a, b] = [await instance(clock), await instance(clock)];
    const before = await b.sign();
    clock.advance(1);
    const { key, keys } = await a.manager.rotate(admin, 0);
    expect(keys.map((k) => k.state)).toEqual(['current', 'previous']);
    expect(kidOf(await a.sign())).toBe(key.kid);
    // B has not reloaded: a token of the new key makes it look the key up.
    expect(await b.tokens.check(await a.sign())).toMatchObject({ valid: true });
    expect(kidOf(await b.sign())).toBe(key.kid);
    expect(await a.tokens.check(before)).toMatchObject({ valid: true });
  });

  it('keeps private keys encrypted at rest and refuses to start under another KEK', async () => {
    const clock = new ManualClock(new Date());
    const a = await instance(clock);
    await a.manager.rotate(admin);
    const { rows } = await db.pool.query<{ private_key_encrypted: Buffer }>('SELECT private_key_encrypted FROM signing_keys');
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.private_key_encrypted.toString('latin1')).not.toMatch(/PRIVATE KEY/);
    await expect(instance(clock, randomBytes(32))).rejects.toMatchObject({
      code: 'ERR_KEY_DECRYPTION_FAILED',
      message: expect.stringMatching(/ROOMGATE_KEY_ENCRYPTION_KEY/),
    });
  });
});

describe('roomgate keys', () => {
  let out: string[];
  beforeEach(() => {
    out = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const env = () => ({ DATABASE_URL: db.connectionString, ROOMGATE_KEY_ENCRYPTION_KEY: kek.toString('base64') });

  it('rotates and lists as a table of kid, state, activation and retirement', async () => {
    expect(await keysCommand(['rotate', '--prepublish-seconds', '120'], env())).toBe(0);
    const rotated = out.join('').trim().split('\n');
    expect(rotated[0]).toMatch(/^KID\s+STATE\s+ACTIVATE\s+RETIRE$/);
    expect(rotated[1]).toMatch(/^\S{16}\s+next\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+-$/);
    expect(rotated[2]).toMatch(/^\S{16}\s+current\s+\S+Z\s+\S+Z$/);

    out.length = 0;
    expect(await keysCommand(['list'], env())).toBe(0);
    expect(out.join('').trim().split('\n')).toEqual(rotated);
    await expect(keysCommand(['rotate'], env())).rejects.toMatchObject({ code: 'ERR_ROTATION_PENDING' });
  });

  it('refuses a wrong KEK and bad arguments', async () => {
    expect(await keysCommand(['list'], env())).toBe(0);
    await expect(
      keysCommand(['rotate'], { ...env(), ROOMGATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') }),
    ).rejects.toMatchObject({ code: 'ERR_KEY_DECRYPTION_FAILED' });
    await expect(keysCommand(['rotate', '--prepublish-seconds', 'soon'], env())).rejects.toThrow(/whole number/);
    await expect(keysCommand(['rotate', '--prepublish-seconds', '99999999'], env())).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(keysCommand(['list', '--prepublish-seconds', '5'], env())).rejects.toThrow(/rotate only/);
    expect(await keysCommand(['--help'], env())).toBe(0);
    expect(out.join('')).toMatch(/roomgate keys rotate \[--prepublish-seconds N\]/);
    expect(await keysCommand([], env())).toBe(2);
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM signing_keys');
    expect(rows[0]?.n).toBe(1);
  });
});
