import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { DomainError } from '../../src/domain/errors.js';
import { JoinCodeManager } from '../../src/domain/join-code-manager.js';
import { JoinCodeHasher, type JoinCodeRecord, type RedeemableJoinCode } from '../../src/domain/join-codes.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import { PageTokens } from '../../src/domain/pagination.js';
import type { PeerManager } from '../../src/domain/peer-manager.js';
import type { JoinCodeStore, JoinRateLimiter, NewJoinCode } from '../../src/domain/ports/index.js';
import { NO_PERMISSIONS, type ManagementPrincipal } from '../../src/domain/principal.js';

// JoinCodeManager alone: its store, rate limiter and PeerManager are stubs
// that record what they were asked, so the order of a redemption's steps and
// CreateJoinCode's expiry rules are seen without a database.
const KEK = Buffer.alloc(32, 3);
const NOW = new Date('2026-12-07T06:00:00Z');
const ROOM = '3f2b8c1e-7a4d-4e3b-9f6a-1c2d3e4f5a6b';
const ADMIN: ManagementPrincipal = { kind: 'management', environment: 'sandbox', tokenId: 't', scopes: ['admin'] };

function setup(found?: Partial<RedeemableJoinCode>) {
  const calls: string[] = [];
  const hasher = new JoinCodeHasher(KEK);
  const code: JoinCodeRecord = {
    id: 'c', seq: '1', environment: 'sandbox', roomId: ROOM, role: 'guest', roleId: 'r', kind: 'link', hint: 'abcd', identity: '',
    maxUses: 1, useCount: 0, appUrl: '', description: '', createdAt: NOW, expiresAt: NOW, revokedAt: null,
  };
  const redeemable: RedeemableJoinCode = {
    code,
    role: { id: 'r', name: 'guest', permissions: NO_PERMISSIONS, tokenTtlSeconds: 600, metadata: '{}' },
    appUrls: [],
    ...found,
  };
  const hashes: Buffer[] = [];
  const store = {
    findRedeemable: async (hash: Buffer) => {
      calls.push('find');
      hashes.push(hash);
      return found ? redeemable : undefined;
    },
    create: async (c: NewJoinCode) => {
      calls.push('create');
      return { ...code, expiresAt: c.expiresAt, kind: c.kind };
    },
  } as unknown as JoinCodeStore;
  const limiter: JoinRateLimiter = {
    attempt: async (clientKey, hash) => {
      calls.push(`attempt ${clientKey}`);
      hashes.push(hash);
    },
  };
  const peers = {
    admit: async () => {
      calls.push('admit');
      return { peer: {}, token: 'tok', expiresAt: NOW };
    },
  } as unknown as PeerManager;
  const clock = new ManualClock(NOW);
  const settings = { maxTtlSeconds: 3600, shortMaxTtlSeconds: 600, maxPerEnvironment: 10, maxShortPerEnvironment: 5, publicUrl: 'https://rooms.example.com/' };
  const manager = new JoinCodeManager(store, peers, hasher, limiter, clock, DEFAULT_LIMITS, settings, new PageTokens(KEK));
  return { manager, calls, hashes, hasher };
}

const reasonOf = (p: Promise<unknown>) => p.then(() => 'OK', (e: DomainError) => `${e.code}: ${e.message}`);

describe('JoinCodeManager.redeem', () => {
  it('counts the attempt, with the code hash, before it looks the code up', async () => {
    const { manager, calls, hashes, hasher } = setup({});
    const code = hasher.mint('link').code;
    await manager.redeem({ code, displayName: 'Ada', requireAppUrl: false }, 'client-1');
    expect(calls).toEqual(['attempt client-1', 'find', 'admit']);
    expect(hashes[0]).toEqual(hashes[1]);
  });

  it('counts an attempt that the rate limiter refuses, and then looks nothing up', async () => {
    const { manager, calls } = setup({});
    const limited = new DomainError('ERR_JOIN_RATE_LIMITED', 'slow down');
    (manager as unknown as { rateLimiter: JoinRateLimiter }).rateLimiter.attempt = async () => {
      calls.push('refused');
      throw limited;
    };
    await expect(manager.redeem({ code: 'abc-defg-hij', displayName: 'Ada', requireAppUrl: false }, 'k')).rejects.toBe(limited);
    expect(calls).toEqual(['refused']);
  });

  it('answers malformed and unknown codes alike, counting both', async () => {
    const { manager, calls } = setup(undefined);
    const malformed = await reasonOf(manager.redeem({ code: 'nope', displayName: 'Ada', requireAppUrl: false }, 'k'));
    const unknown = await reasonOf(manager.redeem({ code: 'abc-defg-hij', displayName: 'Ada', requireAppUrl: false }, 'k'));
    expect(malformed).toBe(unknown);
    expect(unknown).toMatch(/^ERR_JOIN_CODE_INVALID: /);
    expect(calls).toEqual(['attempt k', 'attempt k', 'find']);
  });

  it('checks display_name before counting anything', async () => {
    const { manager, calls } = setup({});
    expect(await reasonOf(manager.redeem({ code: 'abc-defg-hij', displayName: '', requireAppUrl: false }, 'k'))).toMatch(/display_name/);
    expect(calls).toEqual([]);
  });

  it('resolves the app URL before the peer is made', async () => {
    const none = setup({ appUrls: [] });
    expect(await reasonOf(none.manager.redeem({ code: 'abc-defg-hij', displayName: 'A', requireAppUrl: true }, 'k'))).toMatch(/^ERR_NO_APP_URL/);
    expect(none.calls).not.toContain('admit');
    const first = setup({ appUrls: ['https://a.example/', 'https://b.example/'] });
    expect((await first.manager.redeem({ code: 'abc-defg-hij', displayName: 'A', requireAppUrl: true }, 'k')).appUrl).toBe('https://a.example/');
  });
});

describe('JoinCodeManager.create', () => {
  const create = (m: JoinCodeManager, seconds: number | undefined, kind: 'link' | 'short' = 'link') =>
    reasonOf(
      m.create(ADMIN, {
        roomId: ROOM, role: 'guest', maxUses: 0, identity: '', kind, appUrl: '', description: '',
        expireTime: seconds === undefined ? undefined : new Date(NOW.getTime() + seconds * 1000),
      }),
    );

  it('caps expire_time by the kind of code, in the clock it is given', async () => {
    const { manager } = setup();
    expect(await create(manager, 3600)).toBe('OK');
    expect(await create(manager, 3601)).toMatch(/ROOMGATE_JOIN_CODE_MAX_TTL_SECONDS/);
    expect(await create(manager, 600, 'short')).toBe('OK');
    expect(await create(manager, 601, 'short')).toMatch(/ROOMGATE_SHORT_JOIN_CODE_MAX_TTL_SECONDS/);
    expect(await create(manager, 0)).toMatch(/must be in the future/);
    expect(await create(manager, undefined)).toMatch(/is required/);
  });

  it('returns the join page URL under ROOMGATE_PUBLIC_URL', async () => {
    const { manager } = setup();
    const made = await manager.create(ADMIN, {
      roomId: ROOM, role: 'guest', maxUses: 0, identity: '', kind: 'link', appUrl: '', description: '', expireTime: new Date(NOW.getTime() + 60_000),
    });
    expect(made.joinUrl).toBe(`https://rooms.example.com/join/${made.code}`);
  });
});
