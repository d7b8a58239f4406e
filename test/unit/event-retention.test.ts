// Event retention over the in-memory fakes: the purge's batches and the
// watch's check against what retention deleted. Each test builds its own
// MemoryOutbox and domain (buildDomain) on a ManualClock, so nothing is shared.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { DomainError } from '../../src/domain/errors.js';
import { EventCursors } from '../../src/domain/event-cursor.js';
import { EventNotifier } from '../../src/domain/event-notifier.js';
import { EventStream } from '../../src/domain/event-stream.js';
import type { EventPayload, RoomEvent } from '../../src/domain/events.js';
import { PurgeScheduler } from '../../src/domain/purge-scheduler.js';
import { buildDomain, MemoryEventStore, MemoryOutbox, MemoryPurgeStore } from '../support/fakes/index.js';
import { deliveryKey } from '../support/fakes/memory-outbox.js';

const ROOM = '00000000-0000-4000-8000-00000000000a';
const RETENTION_S = 3600;
const CURSORS = new EventCursors(Buffer.alloc(32, 7));

async function setup() {
  const d = await buildDomain();
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
  const outbox = new MemoryOutbox(clock);
  const purgeStore = new MemoryPurgeStore(d.roomStore, d.peerStore, outbox);
  const add = (): RoomEvent => outbox.append({ environment: 'sandbox', roomId: ROOM, payload: { type: 'room_updated' } as EventPayload });
  const scheduler = new PurgeScheduler(purgeStore, d.invalidate, {
    intervalMs: 60_000,
    maxPerRun: 1,
    idempotencyKeyTtlSeconds: 86_400,
    eventRetentionSeconds: RETENTION_S,
    onError: () => undefined,
  });
  return { clock, outbox, purgeStore, add, scheduler };
}

const manager = { kind: 'management', environment: 'sandbox', tokenId: 't', scopes: ['read'] } as const;

describe('event retention', () => {
  it('deletes events older than retention in batches of maxPerRun × 10, oldest first, keeping younger ones and those with a pending delivery', async () => {
    const { clock, outbox, add, scheduler } = await setup();
    const old = Array.from({ length: 25 }, add);
    clock.advance(120);
    const young = add();
    const pendingOne = old[3]!;
    outbox.deliveries.set(deliveryKey(pendingOne.id, 'e'), {
      eventId: pendingOne.id,
      endpointId: 'e',
      roomId: ROOM,
      roomSeq: pendingOne.sequence!,
      state: 'pending',
      attempts: 0,
      nextAttemptAt: clock.now(),
      lastAttemptAt: null,
      lastStatusCode: 0,
      lastError: '',
      createdAt: clock.now(),
    });
    clock.advance(RETENTION_S - 120);
    expect(await scheduler.runOnce()).toMatchObject({ events: 0 });
    clock.advance(1);
    expect(await scheduler.runOnce()).toMatchObject({ events: 24 });
    expect(outbox.events.map((e) => e.id)).toEqual([pendingOne.id, young.id]);
  });

  it('a watch whose position retention overtakes between two reads fails with ERR_EVENT_CURSOR_EXPIRED instead of skipping', async () => {
    const { clock, outbox, purgeStore, add } = await setup();
    const stream = new EventStream(new MemoryEventStore(outbox), new EventNotifier(), CURSORS, {
      batchSize: 1,
      pollIntervalMs: 10,
      retention: { store: purgeStore, retentionSeconds: RETENTION_S },
    });
    const [first] = [add(), add(), add()];
    // Resumes after `first`; the starting check passes, as nothing was deleted yet.
    const fromStart = stream.watch(manager, { afterCursor: CURSORS.sealPlain('sandbox', first!.cursor), roomId: '', types: [] }, new AbortController().signal);
    expect(await fromStart.next()).toMatchObject({ done: false, value: { events: [] } });
    clock.advance(RETENTION_S + 1);
    expect(await purgeStore.pruneEvents(RETENTION_S, 100)).toBe(3);
    const err = await fromStart.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'ERR_EVENT_CURSOR_EXPIRED', metadata: { retentionSeconds: '3600' } });
    expect((err as DomainError).message).toContain('(1 hour)');
  });
});
