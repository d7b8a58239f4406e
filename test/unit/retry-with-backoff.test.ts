import { describe, expect, it } from 'vitest';
import { retryWithBackoff } from '../../src/domain/backoff.js';

const policy = { baseMs: 10, capMs: 40 };
const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const login = Object.assign(new Error('password authentication failed'), { code: '28P01' });
const retryable = (err: unknown) => (err as { code?: string }).code === 'ECONNREFUSED';

describe('retryWithBackoff', () => {
  it('retries retryable failures until an attempt succeeds, telling of each', async () => {
    const told: [number, number][] = [];
    const result = await retryWithBackoff(
      async (n) => {
        if (n < 4) throw refused;
        return n;
      },
      { forMs: 5_000, policy, retryable, onRetry: (_err, n, delayMs) => told.push([n, delayMs]), random: () => 0.5 },
    );
    expect(result).toBe(4);
    expect(told).toEqual([
      [1, 5],
      [2, 10],
      [3, 20],
    ]);
  });

  it('throws a failure that is not retryable at once', async () => {
    let attempts = 0;
    const err = await retryWithBackoff(
      async () => {
        attempts++;
        throw login;
      },
      { forMs: 5_000, policy, retryable },
    ).catch((e: unknown) => e);
    expect(err).toBe(login);
    expect(attempts).toBe(1);
  });

  it('gives up with the last failure when the time is up, and tries once when it is 0', async () => {
    let attempts = 0;
    const fail = async () => {
      attempts++;
      throw refused;
    };
    const started = Date.now();
    await expect(retryWithBackoff(fail, { forMs: 200, policy, retryable })).rejects.toBe(refused);
    expect(Date.now() - started).toBeLessThan(400);
    expect(attempts).toBeGreaterThan(3);
    attempts = 0;
    await expect(retryWithBackoff(fail, { forMs: 0, policy, retryable })).rejects.toBe(refused);
    expect(attempts).toBe(1);
  });

  it('ends a wait at once when the signal aborts', async () => {
    const stop = new AbortController();
    const started = Date.now();
    setTimeout(() => stop.abort(), 50);
    const err = await retryWithBackoff(
      async () => {
        throw refused;
      },
      { forMs: 60_000, policy: { baseMs: 30_000, capMs: 30_000 }, retryable, signal: stop.signal, random: () => 0.99 },
    ).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
