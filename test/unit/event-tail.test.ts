// The shared tail behind WatchEvents, the catch-up gate and the stream
// registry, over the in-memory event store (test/support/fakes): no database.
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { EventCursors } from '../../src/domain/event-cursor.js';
import { EventNotifier } from '../../src/domain/event-notifier.js';
import { EventStream, type WatchProgress } from '../../src/domain/event-stream.js';
import type { EventPayload, EventType, RoomEvent } from '../../src/domain/events.js';
import type { Principal } from '../../src/domain/principal.js';
import { ReadGate } from '../../src/domain/read-gate.js';
import { WatchRegistry } from '../../src/domain/watch-registry.js';
import { MemoryEventStore, type MemoryOutbox } from '../support/fakes/index.js';

const ROOM = '00000000-0000-4000-8000-00000000000a';
const manager = (tokenId = 't', environment: 'sandbox' | 'production' = 'sandbox'): Principal => ({
  kind: 'management',
  environment,
  tokenId,
  scopes: ['read'],
});
const input = { afterCursor: '', roomId: '', types: [] };
const CURSORS = new EventCursors(Buffer.alloc(32, 5));
const add = (outbox: MemoryOutbox, type: EventType = 'room_updated'): RoomEvent =>
  outbox.append({ environment: 'sandbox', roomId: ROOM, payload: { type } as EventPayload });
const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

/** Event ids from `watch` until `count` have arrived. */
async function take(watch: AsyncGenerator<WatchProgress>, count: number): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < count) {
    const { value, done } = await watch.next();
    if (done) break;
    ids.push(...value.events.map((e) => e.id));
  }
  return ids;
}

describe('EventStream shared tail', () => {
  it('reads once per wake for 50 caught-up streams, and each gets the event', async () => {
    const store = new MemoryEventStore();
    const notifier = new EventNotifier();
    const stream = new EventStream(store, notifier, CURSORS, { pollIntervalMs: 60_000 });
    const watches = Array.from({ length: 50 }, () => stream.watch(manager(), input, new AbortController().signal));
    for (const w of watches) await w.next();
    // Each stream's first next() catches up alone, then takes its seat.
    const pending = watches.map((w) => take(w, 1));
    await tick();
    const before = store.reads;
    const event = add(store.outbox);
    notifier.wake('sandbox');
    const got = await Promise.all(pending);
    expect(got).toEqual(watches.map(() => [event.id]));
    expect(store.reads - before).toBe(1);
    for (const w of watches) await w.return(undefined);
  });

  it('drops a stream that stops reading from the tail, and it catches up alone with no gap and no duplicate', async () => {
    const store = new MemoryEventStore();
    const notifier = new EventNotifier();
    const stream = new EventStream(store, notifier, CURSORS, { pollIntervalMs: 60_000, maxQueuedReads: 2 });
    const slow = stream.watch(manager(), input, new AbortController().signal);
    const fast = stream.watch(manager(), input, new AbortController().signal);
    await slow.next();
    await fast.next();
    const fastIds = take(fast, 6);
    // The slow stream takes its seat, then stops asking while six reads go by.
    const firstSlow = slow.next();
    await tick();
    const written: string[] = [];
    for (let i = 0; i < 6; i++) {
      written.push(add(store.outbox).id);
      notifier.wake('sandbox');
      await tick();
    }
    expect(await fastIds).toEqual(written);
    const first = await firstSlow;
    const rest = await take(slow, 6 - (first.value as WatchProgress).events.length);
    expect([...(first.value as WatchProgress).events.map((e) => e.id), ...rest]).toEqual(written);
    await slow.return(undefined);
    await fast.return(undefined);
  });
});

describe('ReadGate', () => {
  it('runs at most its limit at once, in order, and skips a reader whose signal aborts while it waits', async () => {
    const gate = new ReadGate(2);
    let running = 0;
    let most = 0;
    const ran: number[] = [];
    const read = (n: number) => async () => {
      running++;
      most = Math.max(most, running);
      await tick(10);
      running--;
      ran.push(n);
      return n;
    };
    const aborted = new AbortController();
    const results = await Promise.all([
      gate.run(read(1), new AbortController().signal),
      gate.run(read(2), new AbortController().signal),
      gate.run(read(3), aborted.signal),
      gate.run(read(4), new AbortController().signal),
      (async () => aborted.abort())(),
    ]);
    expect(results.slice(0, 4)).toEqual([1, 2, undefined, 4]);
    expect(ran).toEqual([1, 2, 4]);
    expect(most).toBe(2);
  });
});

describe('WatchRegistry', () => {
  const unauthenticated = () => new DomainError('ERR_UNAUTHENTICATED', 'no');

  it('admits streams up to each cap, names the cap it refuses for, and frees places on release', () => {
    const registry = new WatchRegistry(async (a) => manager(a), { maxPerToken: 2, maxPerEnvironment: 3 });
    const a1 = registry.open(manager('a'), 'a', () => undefined);
    registry.open(manager('a'), 'a', () => undefined);
    const perToken = (() => {
      try {
        registry.open(manager('a'), 'a', () => undefined);
      } catch (e) {
        return e as DomainError;
      }
    })();
    expect(perToken).toMatchObject({ code: 'ERR_WATCH_LIMIT_EXCEEDED', metadata: { limit: 'per_token', max: '2' } });
    registry.open(manager('b'), 'b', () => undefined);
    expect(() => registry.open(manager('c'), 'c', () => undefined)).toThrow(/sandbox environment .*ROOMGATE_WATCH_MAX_STREAMS_PER_ENVIRONMENT/);
    expect(() => registry.open(manager('c', 'production'), 'c', () => undefined)).not.toThrow();
    a1.release();
    a1.release();
    expect(() => registry.open(manager('c'), 'c', () => undefined)).not.toThrow();
    registry.stop();
  });

  it('ends the streams of a token that no longer authenticates, and only for a definite no', async () => {
    let answer: 'ok' | 'revoked' | 'down' = 'down';
    const registry = new WatchRegistry(
      async (authorization) => {
        if (authorization === 'a' && answer === 'revoked') throw unauthenticated();
        if (authorization === 'a' && answer === 'down') throw new DomainError('ERR_DB_UNAVAILABLE', 'down');
        return manager(authorization);
      },
      { maxPerToken: 10, maxPerEnvironment: 10, recheckIntervalMs: 60_000 },
    );
    const ended: string[] = [];
    registry.open(manager('a'), 'a', (err) => ended.push(`a1 ${err.code}`));
    registry.open(manager('a'), 'a', (err) => ended.push(`a2 ${err.code}`));
    registry.open(manager('b'), 'b', (err) => ended.push(`b ${err.code}`));
    registry.tokenChanged('a');
    await tick();
    expect(ended).toEqual([]);
    answer = 'revoked';
    registry.tokenChanged('b');
    await tick();
    expect(ended).toEqual([]);
    registry.tokenChanged();
    await tick();
    expect(ended).toEqual(['a1 ERR_UNAUTHENTICATED', 'a2 ERR_UNAUTHENTICATED']);
    registry.stop();
  });

  it('checks every open token again at its interval, for grace periods and expiry', async () => {
    let valid = true;
    const registry = new WatchRegistry(
      async () => {
        if (!valid) throw unauthenticated();
        return manager();
      },
      { maxPerToken: 10, maxPerEnvironment: 10, recheckIntervalMs: 20 },
    );
    let ended = false;
    registry.open(manager(), 't', () => (ended = true));
    await tick(60);
    expect(ended).toBe(false);
    valid = false;
    await tick(60);
    expect(ended).toBe(true);
    registry.stop();
  });
});

describe('WatchLease.checked', () => {
  it("is the check in progress for the lease's token, and nothing once it has ended", async () => {
    let answer!: () => void;
    const registry = new WatchRegistry(
      () => new Promise<Principal>((resolve) => (answer = () => resolve(manager()))),
      { maxPerToken: 10, maxPerEnvironment: 10, recheckIntervalMs: 60_000 },
    );
    const lease = registry.open(manager(), 't', () => undefined);
    expect(lease.checked()).toBeUndefined();
    registry.tokenChanged('t');
    const pending = lease.checked();
    expect(pending).toBeInstanceOf(Promise);
    answer();
    await pending;
    expect(lease.checked()).toBeUndefined();
    registry.stop();
  });
});
