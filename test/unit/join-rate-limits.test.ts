// JoinRateLimits' own logic, over a scripted store: which bucket refuses, the
// retry facts, the memo (its expiry on the injected clock and its bound). The
// windows themselves are counted by Postgres: see
// test/integration/join-rate-limits-store.test.ts.
import { describe, expect, it } from 'vitest';
import { BlockedBuckets } from '../../src/domain/blocked-buckets.js';
import { ManualClock } from '../../src/domain/clock.js';
import { DomainError } from '../../src/domain/errors.js';
import { JoinRateLimits, type JoinRateLimit } from '../../src/domain/join-rate-limits.js';
import type { JoinAttemptCounts, JoinRateLimitStore } from '../../src/domain/ports/index.js';

/** Answers each count with the next scripted result, and records the calls. */
class ScriptedStore implements JoinRateLimitStore {
  readonly calls: { address: string; code: string; windowSeconds: number; addressLimit: number }[] = [];
  constructor(private readonly answer: () => JoinAttemptCounts) {}
  async count(address: string, code: string, windowSeconds: number, addressLimit: number): Promise<JoinAttemptCounts> {
    this.calls.push({ address, code, windowSeconds, addressLimit });
    return this.answer();
  }
  async purgeStale(): Promise<number> {
    return 0;
  }
}

const settings = { perAddress: 20, perCode: 120, windowSeconds: 60, memoCapacity: 3 };
const hash = Buffer.from('ab'.repeat(32), 'hex');

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DomainError);
  expect((err as DomainError).code).toBe('ERR_JOIN_RATE_LIMITED');
  return err as DomainError;
}

describe('JoinRateLimits', () => {
  it('names the buckets by the client key and the code hash in hex, and passes the window and address limit', async () => {
    const store = new ScriptedStore(() => ({ address: { attempts: 1, retryAfterSeconds: 60 }, code: { attempts: 1, retryAfterSeconds: 60 } }));
    await new JoinRateLimits(store, settings, new ManualClock(new Date(0))).attempt('198.51.100.7', hash);
    expect(store.calls).toEqual([{ address: 'address:198.51.100.7', code: `code:${'ab'.repeat(32)}`, windowSeconds: 60, addressLimit: 20 }]);
  });

  it('lets the limit itself through and refuses one past it, address first', async () => {
    const at = (a: number, c: number | undefined) => () => ({
      address: { attempts: a, retryAfterSeconds: 17 },
      code: c === undefined ? undefined : { attempts: c, retryAfterSeconds: 42 },
    });
    const clock = new ManualClock(new Date(0));
    await new JoinRateLimits(new ScriptedStore(at(20, 120)), settings, clock).attempt('a', hash);
    const byAddress = await refusal(new JoinRateLimits(new ScriptedStore(at(21, undefined)), settings, clock).attempt('a', hash));
    expect(byAddress.metadata).toEqual({ retryAfterSeconds: '17', limit: '20', windowSeconds: '60', limitedBy: 'address' });
    expect(byAddress.message).toBe('too many join attempts from your address: the limit is 20 per 60 s; try again in 17 s');
    const byCode = await refusal(new JoinRateLimits(new ScriptedStore(at(3, 121)), settings, clock).attempt('a', hash));
    expect(byCode.metadata).toEqual({ retryAfterSeconds: '42', limit: '120', windowSeconds: '60', limitedBy: 'code' });
    expect(byCode.message).toBe('too many join attempts at this join code, from all addresses together: the limit is 120 per 60 s; try again in 42 s');
  });

  it('refuses a blocked bucket from memory until its window ends, counting down, then asks the store again', async () => {
    const refused: [JoinRateLimit, boolean][] = [];
    const store = new ScriptedStore(() => ({ address: { attempts: 21, retryAfterSeconds: 30 }, code: undefined }));
    const clock = new ManualClock(new Date(0));
    const limiter = new JoinRateLimits(store, settings, clock, { joinRateLimited: (l, memo) => refused.push([l, memo]) });
    await refusal(limiter.attempt('a', hash));
    clock.advance(10.5);
    expect((await refusal(limiter.attempt('a', hash))).metadata.retryAfterSeconds).toBe('20');
    clock.advance(19.4);
    expect((await refusal(limiter.attempt('a', hash))).metadata.retryAfterSeconds).toBe('1');
    expect(store.calls).toHaveLength(1);
    clock.advance(0.1);
    await refusal(limiter.attempt('a', hash));
    expect(store.calls).toHaveLength(2);
    expect(refused).toEqual([['address', false], ['address', true], ['address', true], ['address', false]]);
  });

  it('refuses every address at a blocked code from memory', async () => {
    const store = new ScriptedStore(() => ({ address: { attempts: 1, retryAfterSeconds: 60 }, code: { attempts: 121, retryAfterSeconds: 60 } }));
    const limiter = new JoinRateLimits(store, settings, new ManualClock(new Date(0)));
    await refusal(limiter.attempt('a', hash));
    expect((await refusal(limiter.attempt('b', hash))).metadata.limitedBy).toBe('code');
    expect(store.calls).toHaveLength(1);
  });

  it('remembers at most memoCapacity buckets', async () => {
    const store = new ScriptedStore(() => ({ address: { attempts: 99, retryAfterSeconds: 60 }, code: undefined }));
    const limiter = new JoinRateLimits(store, settings, new ManualClock(new Date(0)));
    for (let i = 0; i < 1000; i++) await refusal(limiter.attempt(`10.0.${i >> 8}.${i & 255}`, hash));
    expect(limiter.memoSize).toBe(3);
  });
});

describe('BlockedBuckets', () => {
  it('forgets the least recently refused bucket past its capacity', () => {
    const memo = new BlockedBuckets(2);
    memo.block('a', 1000);
    memo.block('b', 1000);
    expect(memo.blockedFor('a', 0)).toBe(1000);
    memo.block('c', 1000);
    expect(memo.blockedFor('b', 0)).toBe(0);
    expect(memo.blockedFor('a', 0)).toBe(1000);
    expect(memo.blockedFor('c', 0)).toBe(1000);
    expect(memo.size).toBe(2);
  });

  it('drops an entry once its time has come', () => {
    const memo = new BlockedBuckets(2);
    memo.block('a', 1000);
    expect(memo.blockedFor('a', 999)).toBe(1);
    expect(memo.blockedFor('a', 1000)).toBe(0);
    expect(memo.size).toBe(0);
  });

  it('refuses a capacity below one', () => {
    expect(() => new BlockedBuckets(0)).toThrow(RangeError);
  });
});
