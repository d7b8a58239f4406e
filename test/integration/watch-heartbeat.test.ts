// WatchEvents heartbeats and the verify scope's revocation-only feed, over
// real gRPC and Postgres (startTestRoomgate, on this file's own database; a
// second roomgate on the same database with a per-token stream cap of 1).
import { Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventServiceClient, WatchEventsRequest, WatchEventsResponse } from '../../src/gen/roomgate/v1/event_service.js';
import { EventType } from '../../src/gen/roomgate/v1/events.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let admin: string;

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

const as = (token: string) => ({ token });

/** One WatchEvents call and every message (event or heartbeat) it received, with when it arrived. */
class Feed {
  readonly messages: (WatchEventsResponse & { at: number })[] = [];
  error: ServiceError | undefined;
  readonly call: ClientReadableStream<WatchEventsResponse>;
  readonly subscribed: Promise<void>;
  /** The response header roomgate-start-cursor. */
  startCursor = '';

  constructor(client: EventServiceClient, request: Partial<WatchEventsRequest>, token: string) {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    this.call = client.watchEvents({ afterCursor: '', roomId: '', types: [], heartbeatIntervalSeconds: 0, ...request }, metadata);
    this.subscribed = new Promise((resolve) =>
      this.call.once('metadata', (headers: Metadata) => {
        this.startCursor = String(headers.get('roomgate-start-cursor')[0] ?? '');
        resolve();
      }),
    );
    this.call.on('error', (err: ServiceError) => (this.error = err));
    this.call.on('data', (m: WatchEventsResponse) => this.messages.push({ ...m, at: Date.now() }));
  }

  get events() {
    return this.messages.filter((m) => m.event).map((m) => m.event!);
  }

  get heartbeats() {
    return this.messages.filter((m) => m.heartbeat).map((m) => ({ ...m.heartbeat!, at: m.at }));
  }

  async until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done() && !this.error && Date.now() < deadline) await sleep(10);
    expect(done(), `${what} (error: ${this.error?.details})`).toBe(true);
  }

  async ended(): Promise<ServiceError> {
    const deadline = Date.now() + 10_000;
    while (!this.error && Date.now() < deadline) await sleep(10);
    expect(this.error, 'the call ended').toBeDefined();
    return this.error!;
  }
}

const watch = (request: Partial<WatchEventsRequest>, token = admin, client = t.client.eventStream) => new Feed(client, request, token);

async function dbNow(): Promise<number> {
  const { rows } = await t.db.pool.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  return rows[0]!.now.getTime();
}

describe('WatchEvents heartbeats', () => {
  it('beat on a quiet stream after the interval, with a resumable cursor and the database time of the last catch-up', async () => {
    const feed = watch({ heartbeatIntervalSeconds: 1 });
    await feed.subscribed;
    const opened = Date.now();
    await feed.until('two heartbeats', () => feed.heartbeats.length >= 2, 6_000);
    const [first, second] = feed.heartbeats;
    // Generous bounds: the interval is 1 s, a tail read comes every second.
    expect(first!.at - opened).toBeGreaterThanOrEqual(900);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(900);
    expect(first!.cursor).not.toBe('');
    const now = await dbNow();
    for (const beat of [first!, second!]) {
      expect(beat.time).toBeInstanceOf(Date);
      expect(beat.time!.getTime()).toBeLessThanOrEqual(now);
      expect(now - beat.time!.getTime()).toBeLessThan(10_000);
    }
    expect(second!.time!.getTime()).toBeGreaterThanOrEqual(first!.time!.getTime());
    expect(feed.events).toEqual([]);
    feed.call.cancel();
  });

  it("carry a filtered stream's cursor past what did not match, so resuming from it skips those and misses nothing after", async () => {
    const feed = watch({ heartbeatIntervalSeconds: 1, types: [EventType.EVENT_TYPE_ROOM_DELETED] });
    await feed.subscribed;
    await feed.until('a first heartbeat', () => feed.heartbeats.length >= 1, 6_000);
    const before = feed.heartbeats[0]!.cursor;
    // Events the filter does not want move the read position on.
    const { room } = await t.client.rooms.createRoom({ name: 'hb-skipped' }, as(admin));
    await t.client.peers.createPeer({ roomId: room!.id, identity: 'skipped' }, as(admin));
    const seen = feed.heartbeats.length;
    await feed.until('a heartbeat after the writes', () => feed.heartbeats.slice(seen).some((h) => h.cursor !== before), 6_000);
    const moved = feed.heartbeats.slice(seen).find((h) => h.cursor !== before)!;
    expect(feed.events).toEqual([]);
    feed.call.cancel();

    await t.client.rooms.deleteRoom({ roomId: room!.id }, as(admin));
    const resumed = watch({ afterCursor: moved.cursor, types: [] });
    await resumed.until('the room deletion and its peer revocation', () => resumed.events.length >= 2);
    await sleep(300);
    // Only what committed after the heartbeat's position: not the skipped room_created and peer_created.
    expect(resumed.events.map((e) => EventType[e.type])).toEqual(['EVENT_TYPE_PEER_TOKEN_REVOKED', 'EVENT_TYPE_ROOM_DELETED']);
    resumed.call.cancel();
  });

  it('beat only after the interval with nothing sent, and not at all with interval 0', async () => {
    const busy = watch({ heartbeatIntervalSeconds: 2 });
    const silent = watch({});
    await Promise.all([busy.subscribed, silent.subscribed]);
    const opened = Date.now();
    for (let i = 0; i < 6; i++) {
      await t.client.rooms.createRoom({ name: `hb-busy-${i}` }, as(admin));
      await sleep(500);
    }
    await busy.until('the six rooms', () => busy.events.length >= 6);
    await busy.until('a heartbeat once quiet', () => busy.heartbeats.length >= 1, 8_000);
    // Whatever the load delays, each heartbeat came 2 s or more after the message before it.
    let previous = opened;
    for (const m of busy.messages) {
      if (m.heartbeat) expect(m.at - previous, 'time since the previous message').toBeGreaterThanOrEqual(1_500);
      previous = m.at;
    }
    expect(silent.heartbeats).toEqual([]);
    expect(silent.events).toHaveLength(6);
    busy.call.cancel();
    silent.call.cancel();
  });

  it("send the start cursor as a response header, so a stream cut before its first message resumes without a gap", async () => {
    const feed = watch({ heartbeatIntervalSeconds: 60 });
    await feed.subscribed;
    expect(feed.startCursor).not.toBe('');
    feed.call.cancel();
    const { room } = await t.client.rooms.createRoom({ name: 'after-start' }, as(admin));
    const resumed = watch({ afterCursor: feed.startCursor });
    await resumed.until('the room created after the first call started', () => resumed.events.some((e) => e.roomId === room!.id));
    expect(resumed.startCursor).toBe(feed.startCursor);
    resumed.call.cancel();
  });

  it('refuse an interval over 60 s with INVALID_ARGUMENT naming the field', async () => {
    const feed = watch({ heartbeatIntervalSeconds: 61 });
    const err = await feed.ended();
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/heartbeat_interval_seconds: must be 1-60 seconds, or 0 for no heartbeats/);
  });
});

describe('WatchEvents for a token with scope verify', () => {
  it('streams only the revocation types when no type is asked', async () => {
    const verify = await t.managementToken('sandbox', ['verify']);
    const feed = watch({ heartbeatIntervalSeconds: 1 }, verify);
    await feed.subscribed;
    const { room } = await t.client.rooms.createRoom({ name: 'verify-feed' }, as(admin));
    const { peer } = await t.client.peers.createPeer({ roomId: room!.id, identity: 'v' }, as(admin));
    await t.client.peers.updatePeer({ roomId: room!.id, peerId: peer!.id, permissions: { canPublish: false, canSubscribe: true, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false } }, as(admin));
    await t.client.rooms.deleteRoom({ roomId: room!.id }, as(admin));
    await feed.until('three revocation events', () => feed.events.length >= 3);
    await sleep(300);
    expect(feed.events.map((e) => EventType[e.type])).toEqual([
      'EVENT_TYPE_PEER_TOKEN_REVOKED',
      'EVENT_TYPE_PEER_TOKEN_REVOKED',
      'EVENT_TYPE_ROOM_DELETED',
    ]);
    expect(feed.events.every((e) => e.roomId === room!.id)).toBe(true);
    feed.call.cancel();
  });

  it('may ask for revocation types, and gets PERMISSION_DENIED naming the others', async () => {
    const verify = await t.managementToken('sandbox', ['verify']);
    const ok = watch({ types: [EventType.EVENT_TYPE_ROOM_DELETED] }, verify);
    await ok.subscribed;
    ok.call.cancel();
    const denied = watch({ types: [EventType.EVENT_TYPE_PEER_TOKEN_REVOKED, EventType.EVENT_TYPE_ROOM_CREATED] }, verify);
    const err = await denied.ended();
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(err.details).toMatch(/scope verify may watch only the revocation types .*EVENT_TYPE_ROOM_CREATED needs scope rooms, read or admin/);
  });

  it('leaves read and rooms tokens their whole feed', async () => {
    const read = await t.managementToken('sandbox', ['read', 'verify']);
    const feed = watch({}, read);
    await feed.subscribed;
    await t.client.rooms.createRoom({ name: 'read-feed' }, as(admin));
    await feed.until('the room_created event', () => feed.events.length >= 1);
    expect(EventType[feed.events[0]!.type]).toBe('EVENT_TYPE_ROOM_CREATED');
    feed.call.cancel();
  });

  it("is held to the per-token stream cap", async () => {
    const capped = await startTestRoomgate({ ROOMGATE_WATCH_MAX_STREAMS_PER_TOKEN: '1' }, { sharing: t });
    try {
      const verify = await capped.managementToken('sandbox', ['verify']);
      const first = watch({}, verify, capped.client.eventStream);
      await first.subscribed;
      const second = watch({}, verify, capped.client.eventStream);
      const err = await second.ended();
      expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(err.details).toMatch(/ROOMGATE_WATCH_MAX_STREAMS_PER_TOKEN/);
      first.call.cancel();
    } finally {
      await capped.close();
    }
  });
});

describe('the verify scope elsewhere', () => {
  it('still may not list rooms', async () => {
    const verify = await t.managementToken('sandbox', ['verify']);
    await expectStatus(t.client.rooms.listRooms({}, as(verify)), status.PERMISSION_DENIED, /lacks the 'rooms' scope/);
  });
});
