import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { EventCursors } from '../../src/domain/event-cursor.js';
import { EventNotifier } from '../../src/domain/event-notifier.js';
import { EventStream, type WatchProgress } from '../../src/domain/event-stream.js';
import type { EventPayload, EventType, RoomEvent } from '../../src/domain/events.js';
import { NO_PERMISSIONS, type Environment, type Principal } from '../../src/domain/principal.js';
import { MemoryEventStore, MemoryOutbox } from '../support/fakes/index.js';

const CURSORS = new EventCursors(Buffer.alloc(32, 3));
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

/** Writes an event of `type`; the stream reads only its type and room, so the payload carries nothing else. */
function add(outbox: MemoryOutbox, environment: Environment, roomId: string, type: EventType): RoomEvent {
  return outbox.append({ environment, roomId, payload: { type } as EventPayload });
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
  it('refuses peer tokens, and management tokens with scope verify only asking for other than the revocation types', async () => {
    const stream = new EventStream(new MemoryEventStore(), new EventNotifier(), CURSORS);
    expect((await firstError(stream, peer, input())).code).toBe('ERR_PERMISSION_DENIED');
    expect((await firstError(stream, manager(['verify']), input({ types: ['room_created'] }))).code).toBe('ERR_PERMISSION_DENIED');
    for (const scopes of [['read'], ['rooms'], ['admin'], ['verify']] as const) {
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
    const err = await firstError(new EventStream(new MemoryEventStore(), new EventNotifier(), CURSORS), manager(), watchInput);
    expect(err.code).toBe('ERR_INVALID_ARGUMENT');
    expect(err.message).toMatch(message);
  });

  it('starts after the head when no cursor is given, and after the cursor otherwise', async () => {
    const store = new MemoryEventStore();
    const first = add(store.outbox, 'sandbox', ROOM_A, 'room_created');
    const second = add(store.outbox, 'sandbox', ROOM_A, 'room_updated');
    const stream = new EventStream(store, new EventNotifier(), CURSORS, { pollIntervalMs: 10 });

    const fromHead = stream.watch(manager(), input(), new AbortController().signal);
    const start = (await fromHead.next()).value as WatchProgress;
    expect(start.events).toEqual([]);
    expect(CURSORS.open('sandbox', start.cursor)).toEqual(await store.head());
    const third = add(store.outbox, 'sandbox', ROOM_A, 'room_deleted');
    expect((await take(fromHead, 1)).ids).toEqual([third.id]);
    await fromHead.return(undefined);

    const resumed = stream.watch(manager(), input({ afterCursor: CURSORS.sealPlain('sandbox', first.cursor) }), new AbortController().signal);
    expect((await take(resumed, 2)).ids).toEqual([second.id, third.id]);
    await resumed.return(undefined);
  });

  it("moves past rows outside the filter, and never shows another environment's events", async () => {
    const store = new MemoryEventStore();
    const { outbox } = store;
    for (let i = 0; i < 7; i++) add(outbox, 'sandbox', ROOM_B, 'room_updated');
    add(outbox, 'production', ROOM_A, 'room_updated');
    const created = add(outbox, 'sandbox', ROOM_A, 'peer_created');
    add(outbox, 'sandbox', ROOM_A, 'room_updated');
    const deleted = add(outbox, 'sandbox', ROOM_A, 'peer_deleted');
    const stream = new EventStream(store, new EventNotifier(), CURSORS, { batchSize: 3, pollIntervalMs: 10 });
    const watch = stream.watch(
      manager(),
      input({ afterCursor: CURSORS.seal('sandbox', { txid: '0', position: '0' }), roomId: ROOM_A, types: ['peer_created', 'peer_deleted', 'peer_created'] }),
      new AbortController().signal,
    );
    const got = await take(watch, 2);
    expect(got.ids).toEqual([created.id, deleted.id]);
    // The cursor to resume from is past everything read, matching or not.
    expect(got.cursor).toBe(CURSORS.sealPlain('sandbox', deleted.cursor));
    await watch.return(undefined);
  });

  it('holds back events behind a transaction still running, then sends its events first, skipping none', async () => {
    const store = new MemoryEventStore();
    const stream = new EventStream(store, new EventNotifier(), CURSORS, { pollIntervalMs: 10 });
    const watch = stream.watch(manager(), input(), new AbortController().signal);
    await watch.next();
    const long = store.outbox.begin();
    const early = long.append({ environment: 'sandbox', roomId: ROOM_A, payload: { type: 'room_updated' } as EventPayload });
    const later = add(store.outbox, 'sandbox', ROOM_B, 'room_created');
    let arrived = false;
    const next = watch.next().then((r) => ((arrived = true), r));
    await new Promise((r) => setTimeout(r, 50));
    expect(arrived).toBe(false);
    long.commit();
    expect(((await next).value as WatchProgress).events.map((e) => e.id)).toEqual([early.id, later.id]);
    await watch.return(undefined);
  });

  it('reads again as soon as its environment is woken, not when another one is', async () => {
    const store = new MemoryEventStore();
    const notifier = new EventNotifier();
    const stream = new EventStream(store, notifier, CURSORS, { pollIntervalMs: 60_000 });
    const watch = stream.watch(manager(), input(), new AbortController().signal);
    await watch.next();
    const next = watch.next();
    await new Promise((r) => setTimeout(r, 20));
    const readsBefore = store.reads;
    notifier.wake('production');
    await new Promise((r) => setTimeout(r, 20));
    expect(store.reads).toBe(readsBefore);
    const created = add(store.outbox, 'sandbox', ROOM_A, 'room_created');
    notifier.wake('sandbox');
    expect(((await next).value as WatchProgress).events.map((e) => e.id)).toEqual([created.id]);
    await watch.return(undefined);
  });

  it('ends when its signal aborts, even while waiting for events', async () => {
    const stop = new AbortController();
    const watch = new EventStream(new MemoryEventStore(), new EventNotifier(), CURSORS, { pollIntervalMs: 60_000 }).watch(manager(), input(), stop.signal);
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
