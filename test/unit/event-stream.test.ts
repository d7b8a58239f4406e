import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { decodeEventCursor, encodeEventCursor, type EventPosition } from '../../src/domain/event-cursor.js';
import { EventNotifier } from '../../src/domain/event-notifier.js';
import { EventStream, type WatchProgress } from '../../src/domain/event-stream.js';
import { type EventBatch, type EventFilter, type EventStreamStore } from '../../src/domain/ports/index.js';
import type { EventType, RoomEvent } from '../../src/domain/events.js';
import { NO_PERMISSIONS, type Environment, type Principal } from '../../src/domain/principal.js';

const ROOM_A = '00000000-0000-4000-8000-00000000000a';
const ROOM_B = '00000000-0000-4000-8000-00000000000b';

const manager = (scopes: ('admin' | 'rooms' | 'verify' | 'read')[] = ['read'], environment: Environment = 'sandbox'): Principal => ({
  kind: 'management',
  environment,
  tokenId: 't',
  scopes,
});
const peer: Principal = {
  kind: 'peer',
  environment: 'sandbox',
  roomId: ROOM_A,
  peerId: '00000000-0000-4000-8000-000000000001',
  permissions: NO_PERMISSIONS,
  tokenId: 'p',
  superseded: false,
};

/** The outbox in memory: rows in (txid, position) order, every one readable. */
class MemoryEventStore implements EventStreamStore {
  readonly rows: (EventPosition & { environment: Environment; roomId: string; type: EventType })[] = [];
  reads = 0;
  private nextPosition = 1;

  add(environment: Environment, roomId: string, type: EventType, txid = String(100 + this.nextPosition)): void {
    this.rows.push({ txid, position: String(this.nextPosition++), environment, roomId, type });
  }

  async readAfter(environment: Environment, after: EventPosition | null, limit: number, filter: EventFilter): Promise<EventBatch> {
    this.reads++;
    const key = (p: EventPosition) => BigInt(p.txid) * 1_000_000n + BigInt(p.position);
    const scanned = this.rows
      .filter((r) => r.environment === environment && (!after || key(r) > key(after)))
      .slice(0, limit);
    const events: RoomEvent[] = scanned
      .filter((r) => (!filter.roomId || r.roomId === filter.roomId) && (!filter.types || filter.types.includes(r.type)))
      .map((r) => ({
        id: `e${r.position}`,
        environment,
        roomId: r.roomId,
        sequence: r.position,
        createdAt: new Date(0),
        cursor: encodeEventCursor(r.txid, r.position),
        payload: { type: 'peer_token_revoked', peerId: 'p', identity: 'i', cause: 'peer_deleted', generation: 1 },
      }));
    const last = scanned[scanned.length - 1];
    return { events, scanned: scanned.length, last: last ? { txid: last.txid, position: last.position } : null };
  }

  async head(): Promise<EventPosition> {
    const last = this.rows[this.rows.length - 1];
    return { txid: last ? String(BigInt(last.txid) + 1n) : '1', position: '0' };
  }
}

const input = (over: Partial<{ afterCursor: string; roomId: string; types: (EventType | undefined)[] }> = {}) => ({
  afterCursor: '',
  roomId: '',
  types: [],
  ...over,
});

async function firstError(stream: EventStream, principal: Principal, watchInput: ReturnType<typeof input>): Promise<DomainError> {
  const it = stream.watch(principal, watchInput, new AbortController().signal);
  const err = await it.next().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}

/** Collects progress from a watch until `count` events have arrived. */
async function take(watch: AsyncGenerator<WatchProgress>, count: number): Promise<{ ids: string[]; cursor: string }> {
  const ids: string[] = [];
  let cursor = '';
  while (ids.length < count) {
    const { value, done } = await watch.next();
    if (done) break;
    ids.push(...value.events.map((e) => e.id));
    cursor = value.cursor;
  }
  return { ids, cursor };
}

describe('EventStream.watch', () => {
  it('refuses peer tokens and management tokens without rooms, read or admin', async () => {
    const stream = new EventStream(new MemoryEventStore(), new EventNotifier());
    expect((await firstError(stream, peer, input())).code).toBe('ERR_PERMISSION_DENIED');
    expect((await firstError(stream, manager(['verify']), input())).code).toBe('ERR_PERMISSION_DENIED');
    for (const scopes of [['read'], ['rooms'], ['admin']] as const) {
      const watch = stream.watch(manager([...scopes]), input(), new AbortController().signal);
      await expect(watch.next()).resolves.toMatchObject({ done: false });
      await watch.return(undefined);
    }
  });

  it.each([
    ['a room_id that is not a UUID', input({ roomId: 'room-1' }), /^room_id: /],
    ['an unspecified or unknown type', input({ types: ['room_created', undefined] }), /^types: /],
    ['a cursor it did not hand out', input({ afterCursor: 'bm9wZQ' }), /^after_cursor: /],
  ])('refuses %s with INVALID_ARGUMENT', async (_name, watchInput, message) => {
    const err = await firstError(new EventStream(new MemoryEventStore(), new EventNotifier()), manager(), watchInput);
    expect(err.code).toBe('ERR_INVALID_ARGUMENT');
    expect(err.message).toMatch(message);
  });

  it('starts after the head when no cursor is given, and after the cursor otherwise', async () => {
    const store = new MemoryEventStore();
    store.add('sandbox', ROOM_A, 'room_created');
    store.add('sandbox', ROOM_A, 'room_updated');
    const stream = new EventStream(store, new EventNotifier(), { pollIntervalMs: 10 });

    const fromHead = stream.watch(manager(), input(), new AbortController().signal);
    const start = (await fromHead.next()).value as WatchProgress;
    expect(start.events).toEqual([]);
    expect(decodeEventCursor(start.cursor)).toEqual(await store.head());
    store.add('sandbox', ROOM_A, 'room_deleted');
    expect((await take(fromHead, 1)).ids).toEqual(['e3']);
    await fromHead.return(undefined);

    const resumed = stream.watch(manager(), input({ afterCursor: encodeEventCursor('101', '1') }), new AbortController().signal);
    expect((await take(resumed, 2)).ids).toEqual(['e2', 'e3']);
    await resumed.return(undefined);
  });

  it("moves past rows outside the filter, and never shows another environment's events", async () => {
    const store = new MemoryEventStore();
    for (let i = 0; i < 7; i++) store.add('sandbox', ROOM_B, 'room_updated');
    store.add('production', ROOM_A, 'room_updated');
    store.add('sandbox', ROOM_A, 'peer_created');
    store.add('sandbox', ROOM_A, 'room_updated');
    store.add('sandbox', ROOM_A, 'peer_deleted');
    const stream = new EventStream(store, new EventNotifier(), { batchSize: 3, pollIntervalMs: 10 });
    const watch = stream.watch(
      manager(),
      input({ afterCursor: encodeEventCursor('0', '0'), roomId: ROOM_A, types: ['peer_created', 'peer_deleted', 'peer_created'] }),
      new AbortController().signal,
    );
    const got = await take(watch, 2);
    expect(got.ids).toEqual(['e9', 'e11']);
    // The cursor to resume from is past everything read, matching or not.
    expect(decodeEventCursor(got.cursor)).toEqual({ txid: '111', position: '11' });
    await watch.return(undefined);
  });

  it('reads again as soon as its environment is woken, not when another one is', async () => {
    const store = new MemoryEventStore();
    const notifier = new EventNotifier();
    const stream = new EventStream(store, notifier, { pollIntervalMs: 60_000 });
    const watch = stream.watch(manager(), input(), new AbortController().signal);
    await watch.next();
    const next = watch.next();
    await new Promise((r) => setTimeout(r, 20));
    const readsBefore = store.reads;
    notifier.wake('production');
    await new Promise((r) => setTimeout(r, 20));
    expect(store.reads).toBe(readsBefore);
    store.add('sandbox', ROOM_A, 'room_created');
    notifier.wake('sandbox');
    expect(((await next).value as WatchProgress).events.map((e) => e.id)).toEqual(['e1']);
    await watch.return(undefined);
  });

  it('ends when its signal aborts, even while waiting for events', async () => {
    const stop = new AbortController();
    const watch = new EventStream(new MemoryEventStore(), new EventNotifier(), { pollIntervalMs: 60_000 }).watch(manager(), input(), stop.signal);
    await watch.next();
    const waiting = watch.next();
    stop.abort();
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
  });
});

describe('EventNotifier', () => {
  it('does not lose a wake that comes between reading the version and waiting', async () => {
    const notifier = new EventNotifier();
    const seen = notifier.version('sandbox');
    notifier.wake('sandbox');
    const started = Date.now();
    await notifier.wait('sandbox', seen, 60_000);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('wakes every environment for a payload it does not know, and times out otherwise', async () => {
    const notifier = new EventNotifier();
    const sandbox = notifier.version('sandbox');
    const production = notifier.version('production');
    notifier.wake('something else');
    expect(notifier.version('sandbox')).not.toBe(sandbox);
    expect(notifier.version('production')).not.toBe(production);
    const started = Date.now();
    await notifier.wait('sandbox', notifier.version('sandbox'), 30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
