import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/domain/backoff.js';
import { parseRetryAfter } from '../../src/relay/retry-after.js';

const policy = { baseMs: 1_000, capMs: 3_600_000 };

describe('retryDelayMs', () => {
  it('has a ceiling of base doubling per attempt, up to the cap', () => {
    const top = () => 0.999_999_9;
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, policy, top))).toEqual([999, 1999, 3999, 7999, 15_999]);
    expect(retryDelayMs(13, policy, top)).toBe(3_599_999);
    expect(retryDelayMs(1_000, policy, top)).toBe(3_599_999);
  });

  it('uses full jitter: anywhere from 0 to the ceiling', () => {
    expect(retryDelayMs(4, policy, () => 0)).toBe(0);
    expect(retryDelayMs(4, policy, () => 0.5)).toBe(4_000);
    const samples = Array.from({ length: 2_000 }, () => retryDelayMs(4, policy));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(8_000);
    // Spread over the whole range, not clustered at the ceiling.
    expect(samples.filter((s) => s < 2_000).length).toBeGreaterThan(300);
    expect(samples.filter((s) => s >= 6_000).length).toBeGreaterThan(300);
  });

  it('treats attempt 0 like attempt 1', () => {
    expect(retryDelayMs(0, policy, () => 0.5)).toBe(500);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-01-01T00:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP date relative to now, and a past date as now', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
  });

  it('ignores absent and malformed values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
