import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManagementTokenCache } from '../../src/domain/management-token-cache.js';
import type { ManagementTokenRecord } from '../../src/domain/records.js';
import type { ManagementTokenLookup } from '../../src/domain/ports/index.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** Tokens in memory by hash; a read takes its answer when it starts and waits for `gate`. */
class FakeTokens implements ManagementTokenLookup {
  readonly rows = new Map<string, ManagementTokenRecord>();
  reads = 0;
  gate: Promise<void> | undefined;

  add(text: string, changes: Partial<ManagementTokenRecord> = {}): ManagementTokenRecord {
    const record: ManagementTokenRecord = {
      id: randomUUID(),
      environment: 'production',
      name: text,
      hint: `rg_live_…${text.slice(-4)}`,
      scopes: ['admin'],
      createdAt: new Date('2030-01-01T00:00:00Z'),
      lastUsedAt: null,
      expiresAt: null,
      revokedAt: null,
      seq: String(this.rows.size + 1),
      ...changes,
    };
    this.rows.set(sha256(text).toString('hex'), record);
    return record;
  }

  /** Replaces the stored row of `text`, as an UPDATE would. */
  change(text: string, changes: Partial<ManagementTokenRecord>): void {
    const key = sha256(text).toString('hex');
    this.rows.set(key, { ...this.rows.get(key)!, ...changes });
  }

  async findByHash(hash: Buffer): Promise<ManagementTokenRecord | undefined> {
    this.reads++;
    const answer = this.rows.get(hash.toString('hex'));
    await this.gate;
    return answer;
  }
}

function setup(maxEntries = 100) {
  const source = new FakeTokens();
  const state = { live: true };
  const cache = new ManagementTokenCache(source, { maxEntries, isLive: () => state.live });
  return { source, state, cache };
}

describe('ManagementTokenCache', () => {
  it('answers a known token from memory by its hash', async () => {
    const { source, cache } = setup();
    const a = source.add('token-a');
    const b = source.add('token-b');
    expect(await cache.findByHash(sha256('token-a'))).toEqual(a);
    expect(await cache.findByHash(sha256('token-a'))).toEqual(a);
    expect(await cache.findByHash(sha256('token-b'))).toEqual(b);
    expect(source.reads).toBe(2);
  });

  it('looks an unknown hash up every time', async () => {
    const { source, cache } = setup();
    expect(await cache.findByHash(sha256('unknown'))).toBeUndefined();
    source.add('unknown');
    expect(await cache.findByHash(sha256('unknown'))).toBeDefined();
    expect(source.reads).toBe(2);
  });

  it('returns the changed row after invalidateToken with the id, leaving other tokens cached', async () => {
    const { source, cache } = setup();
    const revoked = source.add('token-a');
    source.add('token-b');
    await cache.findByHash(sha256('token-a'));
    await cache.findByHash(sha256('token-b'));
    const at = new Date('2030-01-02T00:00:00Z');
    source.change('token-a', { revokedAt: at, scopes: ['read'] });
    cache.invalidateToken(revoked.id);
    expect(await cache.findByHash(sha256('token-a'))).toMatchObject({ revokedAt: at, scopes: ['read'] });
    await cache.findByHash(sha256('token-b'));
    expect(source.reads).toBe(3);
  });

  it('keeps a revocation with a grace period in the record, for the caller to compare with its clock', async () => {
    const { source, cache } = setup();
    const graceEnds = new Date('2031-01-01T00:00:00Z');
    source.add('rolling', { revokedAt: graceEnds });
    expect((await cache.findByHash(sha256('rolling')))?.revokedAt).toEqual(graceEnds);
    expect((await cache.findByHash(sha256('rolling')))?.revokedAt).toEqual(graceEnds);
    expect(source.reads).toBe(1);
  });

  it('does not store a lookup that started before the invalidation of the token it found', async () => {
    const { source, cache } = setup();
    const token = source.add('token-a');
    let release!: () => void;
    source.gate = new Promise((resolve) => (release = resolve));
    // The id is known only from the result, so the rule must hold for reads of unknown tokens.
    const stale = cache.findByHash(sha256('token-a'));
    const at = new Date('2030-01-02T00:00:00Z');
    source.change('token-a', { revokedAt: at });
    cache.invalidateToken(token.id);
    source.gate = undefined;
    release();
    expect((await stale)?.revokedAt).toBeNull();
    expect((await cache.findByHash(sha256('token-a')))?.revokedAt).toEqual(at);
    expect((await cache.findByHash(sha256('token-a')))?.revokedAt).toEqual(at);
    expect(source.reads).toBe(2);
  });

  it('flushes everything', async () => {
    const { source, cache } = setup();
    source.add('token-a');
    await cache.findByHash(sha256('token-a'));
    source.change('token-a', { name: 'renamed' });
    cache.flush();
    expect((await cache.findByHash(sha256('token-a')))?.name).toBe('renamed');
    expect(source.reads).toBe(2);
  });

  it('reads through while invalidations are not delivered', async () => {
    const { source, state, cache } = setup();
    source.add('token-a');
    await cache.findByHash(sha256('token-a'));
    state.live = false;
    source.rows.clear();
    expect(await cache.findByHash(sha256('token-a'))).toBeUndefined();
    state.live = true;
    source.add('token-b');
    state.live = false;
    await cache.findByHash(sha256('token-b'));
    state.live = true;
    await cache.findByHash(sha256('token-b'));
    expect(source.reads).toBe(4);
  });

  it('keeps at most maxEntries tokens', async () => {
    const { source, cache } = setup(1);
    source.add('token-a');
    source.add('token-b');
    await cache.findByHash(sha256('token-a'));
    await cache.findByHash(sha256('token-b'));
    await cache.findByHash(sha256('token-a'));
    expect(source.reads).toBe(3);
  });
});
