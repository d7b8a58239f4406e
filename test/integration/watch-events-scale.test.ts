// WatchEvents at scale, over a full roomgate (startTestRoomgate) on this
// file's own database: the event reads Postgres sees do not grow with the
// number of open streams, and the stream caps answer RESOURCE_EXHAUSTED.
// Reads are counted at the store port (PgEventStore, which every stream of
// the server reads through) with a spy in this process, where the server
// runs.
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PgEventStore } from '../../src/store/event-store.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';
import { Watch } from '../support/watch.js';

let t: TestRoomgate;
let admin: string;

beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_WATCH_MAX_STREAMS_PER_TOKEN: '3', ROOMGATE_WATCH_MAX_STREAMS_PER_ENVIRONMENT: '5' });
  admin = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

const open: Watch[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) w.cancel();
  // Let the server see the cancellations before the next test counts streams.
  await sleep(200);
});

function watch(token: string, via = t): Watch {
  const w = new Watch(via.client.eventStream, {}, token);
  open.push(w);
  return w;
}

/**
 * Event reads of the store port during `windowMs`, in which one room is
 * created; every stream in `streams` must receive its ROOM_CREATED.
 */
async function readsWhileWriting(streams: Watch[], windowMs: number): Promise<number> {
  const reads = vi.spyOn(PgEventStore.prototype, 'readAfter');
  try {
    const before = streams.map((s) => s.events.length);
    await sleep(windowMs / 2);
    await t.client.rooms.createRoom({}, { token: admin });
    await sleep(windowMs / 2);
    for (const [i, s] of streams.entries()) await s.received(before[i]! + 1);
    return reads.mock.calls.length;
  } finally {
    reads.mockRestore();
  }
}

describe('WatchEvents at scale', () => {
  it('reads the events table as often with 40 open streams as with 1', async () => {
    const wide = await startTestRoomgate({ ROOMGATE_WATCH_MAX_STREAMS_PER_TOKEN: '1000' }, { sharing: t });
    try {
      const first = watch(admin, wide);
      await first.subscribed;
      const withOne = await readsWhileWriting([first], 3_000);
      const more = Array.from({ length: 39 }, () => watch(admin, wide));
      await Promise.all(more.map((w) => w.subscribed));
      // Past the reads each new stream makes once to join the shared tail.
      await sleep(500);
      const withForty = await readsWhileWriting([first, ...more], 3_000);
      // One stream polling alone read about once a second; forty that each
      // read on their own would read forty times as often.
      expect(withOne).toBeGreaterThan(0);
      expect(withForty).toBeLessThanOrEqual(withOne + 3);
    } finally {
      for (const w of open.splice(0)) w.cancel();
      await wide.close();
    }
  });

  it('answers RESOURCE_EXHAUSTED past the streams one token may hold, naming the per-token limit', async () => {
    const token = await t.managementToken('sandbox', ['read']);
    const admitted = [watch(token), watch(token), watch(token)];
    await Promise.all(admitted.map((w) => w.subscribed));
    const err = await watch(token).ended(3_000);
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/ROOMGATE_WATCH_MAX_STREAMS_PER_TOKEN/);
    expect(statusDetailsOf(err.metadata).errorInfo).toMatchObject([{ reason: 'ERR_WATCH_LIMIT_EXCEEDED', metadata: { limit: 'per_token', max: '3' } }]);
    // A place freed is a place taken again.
    admitted[0]!.cancel();
    await sleep(200);
    const again = watch(token);
    await again.subscribed;
    expect(again.error).toBeUndefined();
  });

  it('answers RESOURCE_EXHAUSTED past the streams one environment may hold, and counts each environment apart', async () => {
    const tokens = await Promise.all([1, 2, 3].map(() => t.managementToken('sandbox', ['read'])));
    const admitted = [watch(tokens[0]!), watch(tokens[0]!), watch(tokens[1]!), watch(tokens[1]!), watch(tokens[2]!)];
    await Promise.all(admitted.map((w) => w.subscribed));
    const err = await watch(tokens[2]!).ended(3_000);
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/sandbox environment .*ROOMGATE_WATCH_MAX_STREAMS_PER_ENVIRONMENT/);
    expect(statusDetailsOf(err.metadata).errorInfo).toMatchObject([{ metadata: { limit: 'per_environment', max: '5' } }]);
    const production = watch(await t.managementToken('production', ['read']));
    await production.subscribed;
    expect(production.error).toBeUndefined();
  });
});
