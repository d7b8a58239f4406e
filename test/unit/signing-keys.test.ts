import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import type { ManagementPrincipal, PeerPrincipal } from '../../src/domain/principal.js';
import { MAX_PREPUBLISH_SECONDS, SigningKeyManager } from '../../src/domain/signing-key-manager.js';
import { SigningKeyRing } from '../../src/domain/signing-keys.js';
import {
  ADMIN as admin,
  jwksKids as kids,
  keyInstance,
  kidOf,
  PREPUBLISH,
  RETIRE_AFTER,
  SUBJECT as subject,
} from '../support/key-rotation.js';
import { MemorySigningKeyStore } from '../support/fakes/index.js';

const T0 = new Date('2026-11-25T12:00:00Z');

async function setup() {
  const clock = new ManualClock(T0);
  const store = new MemorySigningKeyStore();
  const encryptor = new KeyEncryptor(randomBytes(32));
  const a = await keyInstance(store, encryptor, clock);
  return { clock, store, encryptor, a, oldKid: a.ring.current().kid };
}

describe('signing-key rotation', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    s = await setup();
  });

  it('publishes the next key at once but keeps signing with the current one until activation', async () => {
    const { key, keys } = await s.a.manager.rotate(admin);
    expect(key).toMatchObject({
      state: 'next',
      algorithm: 'EdDSA',
      activatedAt: new Date(T0.getTime() + PREPUBLISH * 1000),
      retiredAt: null,
    });
    expect(keys.map((k) => [k.kid, k.state])).toEqual([
      [key.kid, 'next'],
      [s.oldKid, 'current'],
    ]);
    expect(keys[1]?.retiredAt).toEqual(new Date(T0.getTime() + (PREPUBLISH + RETIRE_AFTER) * 1000));
    expect(s.store.notified).toEqual([key.kid]);
    expect(kids(s.a.ring)).toEqual([key.kid, s.oldKid]);
    expect(s.a.ring.current().kid).toBe(s.oldKid);
    expect(kidOf(await s.a.sign())).toBe(s.oldKid);

    s.clock.advance(PREPUBLISH - 1);
    expect(s.a.ring.current().kid).toBe(s.oldKid);
  });

  it('switches to the new key at activation by time alone, and the old key still verifies its tokens', async () => {
    const { key } = await s.a.manager.rotate(admin);
    s.clock.advance(PREPUBLISH - 1);
    const lastOld = await s.a.sign(DEFAULT_LIMITS.maxTokenTtlSeconds);
    const listUsable = vi.spyOn(s.store, 'listUsable');

    s.clock.advance(1);
    expect(s.a.ring.current().kid).toBe(key.kid);
    const fresh = await s.a.sign();
    expect(kidOf(fresh)).toBe(key.kid);
    expect((await s.a.tokens.check(fresh)).valid).toBe(true);
    expect((await s.a.tokens.check(lastOld)).valid).toBe(true);
    expect(listUsable).not.toHaveBeenCalled();
    expect((await s.a.manager.list(admin)).map((k) => [k.kid, k.state])).toEqual([
      [key.kid, 'current'],
      [s.oldKid, 'previous'],
    ]);
  });

  it('retires the old key once every token it signed has expired, counting clock tolerance', async () => {
    await s.a.manager.rotate(admin);
    s.clock.advance(PREPUBLISH - 1);
    // The last and longest-lived token the old key can sign.
    const lastOld = await s.a.sign(DEFAULT_LIMITS.maxTokenTtlSeconds);
    // exp + tolerance - 1 s: the last second that token verifies.
    s.clock.advance(RETIRE_AFTER - 1);
    expect((await s.a.tokens.check(lastOld)).valid).toBe(true);
    s.clock.advance(1);
    expect(kids(s.a.ring)).toContain(s.oldKid);

    s.clock.advance(1);
    expect(kids(s.a.ring)).not.toContain(s.oldKid);
    expect(s.a.ring.privateKey(s.oldKid)).toBeUndefined();
    expect(await s.a.ring.publicKey(s.oldKid)).toBeUndefined();
    expect(await s.a.tokens.check(lastOld)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
    expect((await s.a.manager.list(admin)).map((k) => k.state)).toEqual(['current']);
  });

  it('refuses a rotation while the next key has not started signing, and allows one after', async () => {
    const first = await s.a.manager.rotate(admin);
    await expect(s.a.manager.rotate(admin, 0)).rejects.toMatchObject({ code: 'ERR_ROTATION_PENDING' });
    s.clock.advance(PREPUBLISH - 1);
    await expect(s.a.manager.rotate(admin)).rejects.toMatchObject({ code: 'ERR_ROTATION_PENDING' });
    expect(s.store.records).toHaveLength(2);

    s.clock.advance(1);
    const second = await s.a.manager.rotate(admin);
    expect(second.keys.map((k) => [k.kid, k.state])).toEqual([
      [second.key.kid, 'next'],
      [first.key.kid, 'current'],
      [s.oldKid, 'previous'],
    ]);
    // The key already scheduled to retire keeps its earlier retirement.
    expect(second.keys[2]?.retiredAt).toEqual(first.keys[1]?.retiredAt);
  });

  it('with prepublish 0, makes the new key current at once and the old one previous', async () => {
    const before = await s.a.sign();
    s.clock.advance(1);
    const { key, keys } = await s.a.manager.rotate(admin, 0);
    expect(keys.map((k) => [k.kid, k.state])).toEqual([
      [key.kid, 'current'],
      [s.oldKid, 'previous'],
    ]);
    expect(keys[1]?.retiredAt).toEqual(new Date(T0.getTime() + (1 + RETIRE_AFTER) * 1000));
    expect(kidOf(await s.a.sign())).toBe(key.kid);
    expect((await s.a.tokens.check(before)).valid).toBe(true);
  });

  it('lets another instance verify and sign across a rotation once it reloads', async () => {
    const b = await keyInstance(s.store, s.encryptor, s.clock);
    const { key } = await s.a.manager.rotate(admin);
    expect(kids(b.ring)).not.toContain(key.kid);
    await b.ring.reload();
    expect(kids(b.ring)).toEqual(kids(s.a.ring));

    s.clock.advance(PREPUBLISH);
    const fromA = await s.a.sign();
    const fromB = await b.sign();
    expect([kidOf(fromA), kidOf(fromB)]).toEqual([key.kid, key.kid]);
    expect(await b.tokens.check(fromA)).toMatchObject({ valid: true });
    expect((await s.a.tokens.check(fromB)).valid).toBe(true);
  });

  it('is for admins only and validates prepublish_seconds', async () => {
    const rooms: ManagementPrincipal = { ...admin, scopes: ['rooms', 'read', 'verify'] };
    const peer: PeerPrincipal = {
      kind: 'peer',
      environment: 'sandbox',
      roomId: subject.roomId,
      peerId: subject.peerId,
      permissions: subject.permissions,
      tokenId: randomUUID(),
      superseded: false,
    };
    for (const p of [rooms, peer]) {
      await expect(s.a.manager.rotate(p)).rejects.toMatchObject({ code: 'ERR_PERMISSION_DENIED' });
      await expect(s.a.manager.list(p)).rejects.toMatchObject({ code: 'ERR_PERMISSION_DENIED' });
    }
    for (const bad of [-1, 1.5, MAX_PREPUBLISH_SECONDS + 1]) {
      await expect(s.a.manager.rotate(admin, bad)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringMatching(/^prepublish_seconds: /),
      });
    }
    expect(s.store.records).toHaveLength(1);
  });

  it('stores private keys only encrypted, bound to their kid', async () => {
    await s.a.manager.rotate(admin);
    for (const r of s.store.records) {
      expect(r.privateKeyEncrypted.toString('latin1')).not.toMatch(/PRIVATE KEY/);
      expect(s.encryptor.decrypt(r.privateKeyEncrypted, r.kid).toString()).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      expect(() => s.encryptor.decrypt(r.privateKeyEncrypted, `${r.kid}x`)).toThrow(/does not decrypt/);
    }
  });
});

describe('key ring reloads', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('picks up keys other instances created on a timer, until stopped', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const s = await setup();
    const b = new SigningKeyRing(s.store, s.encryptor, s.clock, { reloadIntervalMs: 30_000 });
    await b.init();
    const first = await s.a.manager.rotate(admin);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(kids(b)).not.toContain(first.key.kid);
    await vi.advanceTimersByTimeAsync(1);
    expect(kids(b)).toContain(first.key.kid);

    b.stop();
    s.clock.advance(PREPUBLISH);
    const second = await s.a.manager.rotate(admin);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(kids(b)).not.toContain(second.key.kid);
  });

  it('reports a failed background reload and keeps its keys', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const s = await setup();
    const onReloadError = vi.fn();
    const b = new SigningKeyRing(s.store, s.encryptor, s.clock, { reloadIntervalMs: 1_000, onReloadError });
    await b.init();
    const failure = new Error('database down');
    vi.spyOn(s.store, 'listUsable').mockRejectedValueOnce(failure);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(onReloadError).toHaveBeenCalledWith(failure);
    expect(b.current().kid).toBe(s.oldKid);
    b.stop();
  });

  it('runs a reload asked for during a running one again, so a key committed meanwhile is seen', async () => {
    const s = await setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const read = s.store.listUsable.bind(s.store);
    const listUsable = vi.spyOn(s.store, 'listUsable').mockImplementationOnce(async (now) => {
      const stale = await read(now);
      await gate;
      return stale;
    });
    const running = s.a.ring.reload();
    await vi.waitFor(() => expect(listUsable).toHaveBeenCalledTimes(1));
    const candidate = s.a.ring.generateKey();
    await s.store.rotate(candidate, { now: T0, activateAt: T0, retirePreviousAt: new Date(T0.getTime() + 60_000) });
    const again = s.a.ring.reload();
    expect(s.a.ring.reload()).toBe(again);
    release();
    await Promise.all([running, again]);
    expect(kids(s.a.ring)).toContain(candidate.kid);
  });
});
