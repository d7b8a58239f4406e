import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LastUsedTracker } from '../../src/domain/last-used-tracker.js';

const INTERVAL = 60_000;
const at = (second: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, second));

/**
 * A tracker whose writer records each batch with the fake time it was written
 * at, fails while `state.fail` is set, and waits while a hold is on.
 */
function setup({ intervalMs }: { intervalMs?: number } = { intervalMs: INTERVAL }) {
  const batches: Array<{ time: number; entries: Map<string, Date> }> = [];
  const state = { fail: false, hold: undefined as Promise<void> | undefined, inFlight: 0, maxInFlight: 0 };
  const write = async (entries: Map<string, Date>) => {
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    try {
      await state.hold;
      if (state.fail) throw new Error('database unavailable');
      batches.push({ time: Date.now(), entries: new Map(entries) });
    } finally {
      state.inFlight--;
    }
  };
  /** Holds writes started from now on until the returned function is called. */
  const hold = (): (() => void) => {
    let release!: () => void;
    state.hold = new Promise((resolve) => (release = resolve));
    return () => {
      state.hold = undefined;
      release();
    };
  };
  const onError = vi.fn();
  const tracker = new LastUsedTracker({ write, onError, intervalMs });
  return { tracker, batches, state, hold, onError, write };
}

describe('LastUsedTracker', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes the latest time of each token once the interval has passed, in one batch', async () => {
    const { tracker, batches } = setup();
    tracker.touch('a', at(1));
    tracker.touch('a', at(5));
    tracker.touch('a', at(3));
    tracker.touch('b', at(2));
    await vi.advanceTimersByTimeAsync(INTERVAL - 1);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([{ time: INTERVAL, entries: new Map([['a', at(5)], ['b', at(2)]]) }]);
  });

  it('writes at most once per interval under constant use, and keeps no timer when idle', async () => {
    const { tracker, batches } = setup();
    for (let t = 0; t < 5 * INTERVAL; t += 1_000) {
      tracker.touch('a', new Date(t));
      await vi.advanceTimersByTimeAsync(1_000);
    }
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(batches.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < batches.length; i++) {
      expect(batches[i]!.time - batches[i - 1]!.time).toBeGreaterThanOrEqual(INTERVAL);
    }
    expect(batches.at(-1)!.entries.get('a')).toEqual(new Date(5 * INTERVAL - 1_000));
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps the entries of a failed write for the next one, where newer times win, and reports the error', async () => {
    const { tracker, batches, state, onError } = setup();
    tracker.touch('a', at(10));
    tracker.touch('b', at(10));
    state.fail = true;
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'database unavailable' }));
    expect(batches).toEqual([]);
    state.fail = false;
    tracker.touch('a', at(20));
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(batches).toEqual([{ time: 2 * INTERVAL, entries: new Map([['a', at(20)], ['b', at(10)]]) }]);
  });

  it('retries a failed write after an interval even with no new use', async () => {
    const { tracker, batches, state } = setup();
    tracker.touch('a', at(1));
    state.fail = true;
    await vi.advanceTimersByTimeAsync(INTERVAL);
    state.fail = false;
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(batches).toEqual([{ time: 2 * INTERVAL, entries: new Map([['a', at(1)]]) }]);
  });

  it('never has two writes in flight', async () => {
    const { tracker, batches, state, hold } = setup();
    const release = hold();
    tracker.touch('a', at(1));
    await vi.advanceTimersByTimeAsync(INTERVAL);
    tracker.touch('a', at(2));
    await vi.advanceTimersByTimeAsync(5 * INTERVAL);
    expect(state.inFlight).toBe(1);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(batches.map((b) => b.entries.get('a'))).toEqual([at(1)]);
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(batches.map((b) => b.entries.get('a'))).toEqual([at(1), at(2)]);
    expect(state.maxInFlight).toBe(1);
  });

  it('writes what is left on stop, after the write in flight, then ignores new use and leaves no timer', async () => {
    const { tracker, batches, state, hold } = setup();
    const release = hold();
    tracker.touch('a', at(1));
    await vi.advanceTimersByTimeAsync(INTERVAL);
    tracker.touch('b', at(2));
    const stopped = tracker.stop();
    release();
    await stopped;
    expect(batches.map((b) => [...b.entries.keys()])).toEqual([['a'], ['b']]);
    expect(state.maxInFlight).toBe(1);
    tracker.touch('c', at(3));
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(2 * INTERVAL);
    expect(batches).toHaveLength(2);
  });

  it('defaults to one write a minute and rejects a non-positive interval', async () => {
    const { tracker, batches, write } = setup({});
    tracker.touch('a', at(1));
    await vi.advanceTimersByTimeAsync(59_999);
    expect(batches).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toHaveLength(1);
    expect(() => new LastUsedTracker({ write, onError: () => undefined, intervalMs: 0 })).toThrow(RangeError);
  });
});
