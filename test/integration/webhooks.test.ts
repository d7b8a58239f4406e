// Webhooks over real gRPC and Postgres, sent by a real relay to an HTTP
// receiver on 127.0.0.1 that checks every signature with its own Standard
// Webhooks implementation (test/support/standard-webhooks.ts).
//
// The server runs with its own relay off; the test runs one relay on the same
// database with a fast backoff (300 ms doubling) and its jitter pinned to the
// top of the range, so the retry schedule is observable. Loopback receivers
// are allowed explicitly (ROOMGATE_WEBHOOK_ALLOW_HTTP and
// ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS); the SSRF tests use a second
// server, and relays, that do not allow them.
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RoomgateClient } from '../../src/client/index.js';
import { systemResolver, type Resolver } from '../../src/domain/url-guard.js';
import { DeliveryState, EventType } from '../../src/gen/roomgate/v1/events.js';
import type { WebhookRelay } from '../../src/relay/webhook-relay.js';
import { testRelay } from '../support/test-relay.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { verifyStandardWebhook, type SignedHeaders } from '../support/standard-webhooks.js';
import { statusDetailsOf } from '../support/status-details.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';

const PERMISSIVE = { ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true', ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
const BACKOFF_BASE_MS = 300;
const HORIZON_SECONDS = 60;
const MISSING = '00000000-0000-4000-8000-00000000dead';

let t: TestRoomgate;
let admin: string;
let live: string;
let events: RoomgateClient['events'];
let receiver: WebhookReceiver;
let relay: WebhookRelay;

function makeRelay(guard: { allowPrivateNetworks: boolean; resolver?: Resolver }): WebhookRelay {
  return testRelay(t, { allowPrivateNetworks: guard.allowPrivateNetworks, resolver: guard.resolver ?? systemResolver },
    {
      concurrency: 4,
      timeoutMs: 2_000,
      retryHorizonSeconds: HORIZON_SECONDS,
      backoff: { baseMs: BACKOFF_BASE_MS, capMs: 10_000 },
      idlePollMs: 20,
      random: () => 0.999,
    },
  );
}

beforeAll(async () => {
  t = await startTestRoomgate({ ...PERMISSIVE, ROOMGATE_RELAY_ENABLED: 'false' });
  admin = await t.managementToken('sandbox');
  live = await t.managementToken('production');
  events = t.client.events;
  receiver = await startWebhookReceiver();
  relay = makeRelay({ allowPrivateNetworks: true });
  relay.start();
});
afterAll(async () => {
  await relay?.stop();
  await receiver?.close();
  await t?.close();
});

const until = (check: () => void | Promise<void>, timeout = 10_000) => vi.waitFor(check, { timeout, interval: 20 });

async function createRoom(token = admin): Promise<string> {
  return (await t.client.rooms.createRoom({}, { token })).room!.id;
}

async function touchRoom(roomId: string, n: number, token = admin): Promise<void> {
  await t.client.rooms.updateRoom({ roomId, metadata: JSON.stringify({ n }) }, { token });
}

async function endpointFor(path: string, options: { roomId?: string; eventTypes?: EventType[]; token?: string } = {}) {
  const { endpoint, secret } = await events.createWebhookEndpoint(
    { url: receiver.url(path), roomId: options.roomId ?? '', eventTypes: options.eventTypes ?? [] },
    { token: options.token ?? admin },
  );
  return { id: endpoint!.id, secret };
}

async function eventId(roomId: string, seq: number): Promise<string> {
  const { rows } = await t.db.pool.query<{ id: string }>('SELECT id FROM events WHERE room_id = $1 AND room_seq = $2', [roomId, seq]);
  return rows[0]!.id;
}

async function deliveries(endpointId: string, token = admin) {
  return (await events.listWebhookDeliveries({ endpointId }, { token })).deliveries;
}

/** A room with an endpoint of its own that always answers `status`, and two room_updated events (seq 2 and 3). */
async function twoEventsAnswered(path: string, status: number) {
  const roomId = await createRoom();
  const hook = await endpointFor(path, { roomId });
  receiver.respond(path, () => ({ status }));
  await touchRoom(roomId, 1);
  await touchRoom(roomId, 2);
  return { roomId, hook };
}

const headersOf = (hit: ReceivedWebhook): SignedHeaders => hit.headers as SignedHeaders;
const bodyOf = (hit: ReceivedWebhook) => JSON.parse(hit.body) as { id: string; roomId: string; sequence: string; type: string };
const codeOf = (err: ServiceError) => err.metadata.get('roomgate-error-code')[0];

describe('delivery', () => {
  it('delivers room_created for CreateRoom, signed, with the event as proto JSON', async () => {
    const hook = await endpointFor('/created', { eventTypes: [EventType.EVENT_TYPE_ROOM_CREATED], token: live });
    const { room } = await t.client.rooms.createRoom({ name: 'hooked' }, { token: live });
    await touchRoom(room!.id, 1, live);
    await until(() => expect(receiver.received('/created')).toHaveLength(1));

    const [hit] = receiver.received('/created');
    const id = await eventId(room!.id, 1);
    expect(hit!.headers).toMatchObject({ 'webhook-id': id, 'content-type': 'application/json', 'user-agent': 'roomgate' });
    expect(Math.abs(Number(hit!.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    expect(verifyStandardWebhook(hook.secret, headersOf(hit!), hit!.body)).toBe(true);
    expect(JSON.parse(hit!.body)).toMatchObject({
      id,
      environment: 'ENVIRONMENT_PRODUCTION',
      roomId: room!.id,
      sequence: '1',
      type: 'EVENT_TYPE_ROOM_CREATED',
      roomCreated: { id: room!.id, name: 'hooked' },
      cursor: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
    });
    // The filter left room_updated out when the event was written.
    await until(async () =>
      expect(await deliveries(hook.id, live)).toEqual([
        expect.objectContaining({
          eventId: id,
          eventType: EventType.EVENT_TYPE_ROOM_CREATED,
          state: DeliveryState.DELIVERY_STATE_DELIVERED,
          attempts: 1,
          lastStatusCode: 200,
          lastError: '',
          nextAttemptTime: undefined,
        }),
      ]),
    );
  });

  it('retries 500, 500, then 200: three attempts with growing delays and the same webhook-id and body', async () => {
    const roomId = await createRoom();
    const hook = await endpointFor('/flaky', { roomId });
    receiver.script('/flaky', { status: 500 }, { status: 500 });
    await touchRoom(roomId, 1);
    await until(() => expect(receiver.received('/flaky')).toHaveLength(3));

    const hits = receiver.received('/flaky');
    const id = await eventId(roomId, 2);
    expect(hits.map((h) => h.headers['webhook-id'])).toEqual([id, id, id]);
    expect(new Set(hits.map((h) => h.body)).size).toBe(1);
    for (const h of hits) expect(verifyStandardWebhook(hook.secret, headersOf(h), h.body)).toBe(true);
    const [first, second] = [hits[1]!.at - hits[0]!.at, hits[2]!.at - hits[1]!.at];
    expect(first).toBeGreaterThanOrEqual(BACKOFF_BASE_MS - 10);
    expect(second).toBeGreaterThanOrEqual(2 * BACKOFF_BASE_MS - 10);
    expect(second).toBeGreaterThan(first);
    await until(async () =>
      expect((await deliveries(hook.id))[0]).toMatchObject({
        state: DeliveryState.DELIVERY_STATE_DELIVERED,
        attempts: 3,
        lastStatusCode: 200,
        lastError: '',
      }),
    );
    await new Promise((r) => setTimeout(r, 4 * BACKOFF_BASE_MS));
    expect(receiver.received('/flaky')).toHaveLength(3);
  });

  it("holds a room's later event until the earlier one is delivered, without holding other rooms", async () => {
    const [a, b] = [await createRoom(), await createRoom()];
    const hook = await endpointFor('/ordered', { eventTypes: [EventType.EVENT_TYPE_ROOM_UPDATED] });
    const isFirstOfA = (h: ReceivedWebhook) => bodyOf(h).roomId === a && bodyOf(h).sequence === '2';
    receiver.respond('/ordered', (hit) =>
      isFirstOfA(hit) && receiver.received('/ordered').filter(isFirstOfA).length <= 2 ? { status: 500 } : undefined,
    );
    await touchRoom(a, 1);
    await touchRoom(a, 2);
    await touchRoom(b, 1);
    await until(() => expect(receiver.received('/ordered')).toHaveLength(5));

    const hits = receiver.received('/ordered').map((h) => ({ ...bodyOf(h), at: h.at }));
    const ofA = hits.filter((h) => h.roomId === a);
    expect(ofA.map((h) => h.sequence)).toEqual(['2', '2', '2', '3']);
    const bHit = hits.find((h) => h.roomId === b)!;
    expect(bHit.at).toBeLessThan(ofA[2]!.at);
    await events.deleteWebhookEndpoint({ endpointId: hook.id }, { token: admin });
  });

  it('disables the endpoint on 410 Gone and gives up its pending deliveries', async () => {
    const { roomId, hook } = await twoEventsAnswered('/gone', 410);
    await until(async () => {
      const { endpoint } = await events.getWebhookEndpoint({ endpointId: hook.id }, { token: admin });
      expect(endpoint).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/410 Gone/) });
    });
    // The later event's delivery may have been written while the endpoint was
    // being disabled; the relay gives such a stray up on its next cycle.
    await until(async () => {
      const [newer, older] = await deliveries(hook.id);
      expect(older).toMatchObject({ eventId: await eventId(roomId, 2), state: DeliveryState.DELIVERY_STATE_FAILED, lastStatusCode: 410 });
      expect(newer).toMatchObject({
        eventId: await eventId(roomId, 3),
        state: DeliveryState.DELIVERY_STATE_FAILED,
        attempts: 0,
        lastError: expect.stringMatching(/endpoint disabled/),
        nextAttemptTime: undefined,
      });
    });
    await touchRoom(roomId, 3);
    expect(await deliveries(hook.id)).toHaveLength(2);
    expect(receiver.received('/gone')).toHaveLength(1);
    // Disabling it by hand as well keeps the reason: only enabling clears it.
    const { endpoint } = await events.updateWebhookEndpoint({ endpointId: hook.id, enabled: false }, { token: admin });
    expect(endpoint).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/410 Gone/) });
  });

  it('honours Retry-After in seconds and as an HTTP date, capped at the retry horizon', async () => {
    const roomId = await createRoom();
    const hook = await endpointFor('/busy', { roomId });
    const inTwenty = new Date(Date.now() + 20_000);
    receiver.script('/busy', { status: 429, headers: { 'retry-after': '1' } }, { status: 503, headers: { 'retry-after': inTwenty.toUTCString() } });
    await touchRoom(roomId, 1);
    await until(() => expect(receiver.received('/busy')).toHaveLength(2));
    const [first, second] = receiver.received('/busy');
    // Backoff alone would have retried within 300 ms.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    await until(async () => expect((await deliveries(hook.id))[0]).toMatchObject({ lastStatusCode: 503, attempts: 2 }));
    const [after503] = await deliveries(hook.id);
    expect(after503!.state).toBe(DeliveryState.DELIVERY_STATE_PENDING);
    expect(Math.abs(after503!.nextAttemptTime!.getTime() - inTwenty.getTime())).toBeLessThan(1_500);

    const capped = await endpointFor('/very-busy', { roomId });
    receiver.script('/very-busy', { status: 429, headers: { 'retry-after': '86400' } });
    await touchRoom(roomId, 2);
    await until(async () => expect((await deliveries(capped.id))[0]).toMatchObject({ lastStatusCode: 429 }));
    const [d] = await deliveries(capped.id);
    expect(d!.nextAttemptTime!.getTime() - d!.createTime!.getTime()).toBe(HORIZON_SECONDS * 1000);
    for (const id of [hook.id, capped.id]) await events.deleteWebhookEndpoint({ endpointId: id }, { token: admin });
  });

  it('signs with both secrets during a rotation grace period, then with the new one only', async () => {
    const roomId = await createRoom();
    const hook = await endpointFor('/rotate', { roomId });
    const rotated = await events.rotateWebhookSecret({ endpointId: hook.id, graceSeconds: 3600 }, { token: admin });
    expect(rotated.secret).not.toBe(hook.secret);
    expect(Math.abs(rotated.endpoint!.previousSecretExpireTime!.getTime() - Date.now() - 3_600_000)).toBeLessThan(5_000);
    await touchRoom(roomId, 1);
    await until(() => expect(receiver.received('/rotate')).toHaveLength(1));
    const [during] = receiver.received('/rotate');
    const parts = during!.headers['webhook-signature']!.toString().split(' ');
    expect(parts).toHaveLength(2);
    for (const secret of [hook.secret, rotated.secret]) {
      expect(verifyStandardWebhook(secret, headersOf(during!), during!.body)).toBe(true);
      expect(parts.filter((p) => verifyStandardWebhook(secret, { ...headersOf(during!), 'webhook-signature': p }, during!.body))).toHaveLength(1);
    }

    const final = await events.rotateWebhookSecret({ endpointId: hook.id, graceSeconds: 0 }, { token: admin });
    expect(final.endpoint!.previousSecretExpireTime).toBeUndefined();
    await touchRoom(roomId, 2);
    await until(() => expect(receiver.received('/rotate')).toHaveLength(2));
    const after = receiver.received('/rotate')[1]!;
    expect(after.headers['webhook-signature']!.toString().split(' ')).toHaveLength(1);
    expect(verifyStandardWebhook(final.secret, headersOf(after), after.body)).toBe(true);
    expect(verifyStandardWebhook(rotated.secret, headersOf(after), after.body)).toBe(false);
    await expectStatus(
      events.rotateWebhookSecret({ endpointId: hook.id, graceSeconds: 7 * 86_400 + 1 }, { token: admin }),
      status.INVALID_ARGUMENT,
      /^grace_seconds:/,
    );
  });

  it('redelivers an event on request with the same webhook-id, also one the endpoint never had', async () => {
    const roomId = await createRoom();
    const hook = await endpointFor('/again', { roomId });
    await touchRoom(roomId, 1);
    await until(() => expect(receiver.received('/again')).toHaveLength(1));
    const id = await eventId(roomId, 2);

    const { delivery } = await events.redeliverEvent({ eventId: id, endpointId: hook.id }, { token: admin });
    expect(delivery).toMatchObject({ eventId: id, state: DeliveryState.DELIVERY_STATE_PENDING, attempts: 0, lastStatusCode: 0 });
    await until(() => expect(receiver.received('/again')).toHaveLength(2));
    const [first, again] = receiver.received('/again');
    expect(again!.headers['webhook-id']).toBe(id);
    expect(again!.body).toBe(first!.body);
    expect(verifyStandardWebhook(hook.secret, headersOf(again!), again!.body)).toBe(true);

    // room_created was written before the endpoint existed, so it had no delivery.
    const created = await eventId(roomId, 1);
    await events.redeliverEvent({ eventId: created, endpointId: hook.id }, { token: admin });
    await until(() => expect(receiver.received('/again')).toHaveLength(3));
    expect(bodyOf(receiver.received('/again')[2]!)).toMatchObject({ id: created, type: 'EVENT_TYPE_ROOM_CREATED' });
    await until(async () =>
      expect((await deliveries(hook.id)).map((d) => [d.eventId, d.state, d.attempts])).toEqual(
        expect.arrayContaining([
          [id, DeliveryState.DELIVERY_STATE_DELIVERED, 1],
          [created, DeliveryState.DELIVERY_STATE_DELIVERED, 1],
        ]),
      ),
    );

    const otherEnvironment = await eventId(await createRoom(live), 1);
    for (const eventId of [MISSING, otherEnvironment]) {
      const err = await expectStatus(events.redeliverEvent({ eventId, endpointId: hook.id }, { token: admin }), status.NOT_FOUND, /^event not found$/);
      expect(codeOf(err)).toBe('ERR_EVENT_NOT_FOUND');
    }
    await expectStatus(events.redeliverEvent({ eventId: id, endpointId: MISSING }, { token: admin }), status.NOT_FOUND, /endpoint not found/);
    await expectStatus(events.redeliverEvent({ eventId: id, endpointId: hook.id }, { token: live }), status.NOT_FOUND, /endpoint not found/);
    await expectStatus(events.redeliverEvent({ eventId: 'x', endpointId: hook.id }, { token: admin }), status.INVALID_ARGUMENT, /^event_id:/);
  });
});

describe('several relays on one database', () => {
  it('send each event once, in order per room', async () => {
    const rooms = await Promise.all([1, 2, 3, 4].map(() => createRoom()));
    const hook = await endpointFor('/shared', { eventTypes: [EventType.EVENT_TYPE_ROOM_UPDATED] });
    const others = [makeRelay({ allowPrivateNetworks: true }), makeRelay({ allowPrivateNetworks: true })];
    for (const r of others) r.start();
    try {
      for (let n = 1; n <= 5; n++) await Promise.all(rooms.map((roomId) => touchRoom(roomId, n)));
      await until(() => expect(receiver.received('/shared')).toHaveLength(20));
      const bodies = receiver.received('/shared').map(bodyOf);
      expect(new Set(bodies.map((b) => b.id)).size).toBe(20);
      for (const roomId of rooms) {
        expect(bodies.filter((b) => b.roomId === roomId).map((b) => Number(b.sequence))).toEqual([2, 3, 4, 5, 6]);
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(receiver.received('/shared')).toHaveLength(20);
    } finally {
      await Promise.all(others.map((r) => r.stop()));
      await events.deleteWebhookEndpoint({ endpointId: hook.id }, { token: admin });
    }
  });
});

describe('ListWebhookDeliveries', () => {
  it('shows attempts, status codes and the next retry, newest first, in pages', async () => {
    const { roomId, hook } = await twoEventsAnswered('/down', 500);
    await until(async () => expect((await deliveries(hook.id))[1]?.attempts).toBeGreaterThanOrEqual(2));

    const [newer, older] = await deliveries(hook.id);
    expect(older).toMatchObject({
      eventId: await eventId(roomId, 2),
      eventType: EventType.EVENT_TYPE_ROOM_UPDATED,
      state: DeliveryState.DELIVERY_STATE_PENDING,
      lastStatusCode: 500,
      lastError: 'HTTP 500',
    });
    expect(older!.nextAttemptTime!.getTime()).toBeGreaterThan(older!.lastAttemptTime!.getTime());
    // Waiting behind the older one: never attempted.
    expect(newer).toMatchObject({ eventId: await eventId(roomId, 3), state: DeliveryState.DELIVERY_STATE_PENDING, attempts: 0 });
    expect(newer!.lastAttemptTime).toBeUndefined();

    const page1 = await events.listWebhookDeliveries({ endpointId: hook.id, pageSize: 1 }, { token: admin });
    expect(page1.deliveries.map((d) => d.eventId)).toEqual([newer!.eventId]);
    const page2 = await events.listWebhookDeliveries({ endpointId: hook.id, pageSize: 1, pageToken: page1.nextPageToken }, { token: admin });
    expect(page2.deliveries.map((d) => d.eventId)).toEqual([older!.eventId]);
    expect(page2.nextPageToken).toBe('');
    await expectStatus(
      events.listWebhookDeliveries({ endpointId: hook.id, pageToken: 'bm9wZQ' }, { token: admin }),
      status.INVALID_ARGUMENT,
      /^page_token:/,
    );

    // Disabling gives the pending deliveries up; enabling again clears nothing but the flag.
    const { endpoint } = await events.updateWebhookEndpoint({ endpointId: hook.id, enabled: false }, { token: admin });
    expect(endpoint).toMatchObject({ enabled: false, disabledReason: '' });
    expect((await deliveries(hook.id)).map((d) => [d.state, d.lastError])).toEqual([
      [DeliveryState.DELIVERY_STATE_FAILED, 'endpoint disabled'],
      [DeliveryState.DELIVERY_STATE_FAILED, 'endpoint disabled'],
    ]);
    const sent = receiver.received('/down').length;
    await new Promise((r) => setTimeout(r, 4 * BACKOFF_BASE_MS));
    expect(receiver.received('/down')).toHaveLength(sent);
    await expectStatus(
      events.redeliverEvent({ eventId: older!.eventId, endpointId: hook.id }, { token: admin }),
      status.FAILED_PRECONDITION,
      /endpoint is disabled/,
    );
  });
});

describe('endpoints', () => {
  it('creates, gets, lists, updates and deletes endpoints, never showing the secret again', async () => {
    const roomId = await createRoom();
    const created = await events.createWebhookEndpoint(
      { url: receiver.url('/crud'), roomId, description: 'ops', eventTypes: [EventType.EVENT_TYPE_PEER_CREATED] },
      { token: admin },
    );
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const id = created.endpoint!.id;
    expect(created.endpoint).toMatchObject({
      url: receiver.url('/crud'),
      roomId,
      description: 'ops',
      eventTypes: [EventType.EVENT_TYPE_PEER_CREATED],
      enabled: true,
      disabledReason: '',
      previousSecretExpireTime: undefined,
    });
    const got = await events.getWebhookEndpoint({ endpointId: id }, { token: admin });
    expect(got.endpoint).toEqual(created.endpoint);
    expect(JSON.stringify(got)).not.toContain('whsec_');
    const { rows } = await t.db.pool.query<{ secret_encrypted: Buffer }>('SELECT secret_encrypted FROM webhook_endpoints WHERE id = $1', [id]);
    expect(rows[0]!.secret_encrypted.includes(Buffer.from(created.secret))).toBe(false);
    expect(rows[0]!.secret_encrypted.includes(Buffer.from(created.secret.slice(6), 'base64'))).toBe(false);

    const listed = await events.listWebhookEndpoints({}, { token: admin });
    expect(listed.endpoints.map((e) => e.id)).toContain(id);
    expect((await events.listWebhookEndpoints({}, { token: live })).endpoints.map((e) => e.id)).not.toContain(id);

    const updated = await events.updateWebhookEndpoint(
      { endpointId: id, url: receiver.url('/crud-2'), description: '', replaceEventTypes: true, eventTypes: [] },
      { token: admin },
    );
    expect(updated.endpoint).toMatchObject({ url: receiver.url('/crud-2'), description: '', eventTypes: [] });
    await expectStatus(events.updateWebhookEndpoint({ endpointId: id }, { token: admin }), status.INVALID_ARGUMENT, /nothing to update/);

    await events.deleteWebhookEndpoint({ endpointId: id }, { token: admin });
    await expectStatus(events.getWebhookEndpoint({ endpointId: id }, { token: admin }), status.NOT_FOUND, /endpoint not found/);
    const err = await expectStatus(events.deleteWebhookEndpoint({ endpointId: id }, { token: admin }), status.NOT_FOUND);
    expect(codeOf(err)).toBe('ERR_WEBHOOK_ENDPOINT_NOT_FOUND');
  });

  it('validates requests with INVALID_ARGUMENT naming the field, and needs the rooms scope', async () => {
    const url = receiver.url('/invalid');
    const create = (over: object, token = admin) => events.createWebhookEndpoint({ url, ...over }, { token });
    await expectStatus(create({ url: 'ftp://example.com/' }), status.INVALID_ARGUMENT, /^url: must use https or http$/);
    await expectStatus(create({ url: `${url}?${'a'.repeat(2048)}` }), status.INVALID_ARGUMENT, /^url: must be at most 2048/);
    await expectStatus(create({ eventTypes: [EventType.EVENT_TYPE_UNSPECIFIED] }), status.INVALID_ARGUMENT, /^event_types:/);
    await expectStatus(create({ eventTypes: [99 as EventType] }), status.INVALID_ARGUMENT, /^event_types:/);
    await expectStatus(create({ roomId: 'room-1' }), status.INVALID_ARGUMENT, /^room_id:/);
    await expectStatus(create({ roomId: MISSING }), status.NOT_FOUND, /room not found/);
    await expectStatus(create({ roomId: await createRoom(live) }), status.NOT_FOUND, /room not found/);
    await expectStatus(create({ description: 'x'.repeat(257) }), status.INVALID_ARGUMENT, /^description:/);
    await expectStatus(create({}, await t.managementToken('sandbox', ['read'])), status.PERMISSION_DENIED, /'rooms' scope/);
    await expectStatus(
      events.listWebhookEndpoints({}, { token: await t.managementToken('sandbox', ['verify']) }),
      status.PERMISSION_DENIED,
    );
    const { rows } = await t.db.pool.query(`SELECT 1 FROM webhook_endpoints WHERE url LIKE '%/invalid%'`);
    expect(rows).toHaveLength(0);
  });
});

describe('SSRF guard', () => {
  it('refuses endpoint URLs that resolve to loopback, private or metadata addresses unless allowed', async () => {
    const strict = await startTestRoomgate({ ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true', ROOMGATE_RELAY_ENABLED: 'false' });
    const client = strict.client.events;
    try {
      const token = await strict.managementToken('sandbox');
      const refused: [string, RegExp][] = [
        [`http://127.0.0.1:${receiver.port}/x`, /loopback/],
        [`http://localhost:${receiver.port}/x`, /loopback/],
        [`http://[::1]:${receiver.port}/x`, /loopback/],
        ['http://[::ffff:127.0.0.1]/x', /loopback/],
        ['http://0x7f.1/x', /loopback/],
        ['http://10.0.0.8/x', /private/],
        ['http://169.254.169.254/latest/meta-data/', /metadata/],
        ['http://[fd00:ec2::254]/', /metadata/],
      ];
      // One message and no address class for every refusal, a name that does not resolve included (issue 12).
      refused.push(['http://nowhere.roomgate.invalid/x', /unresolvable/]);
      for (const [url] of refused) {
        const err = await expectStatus(
          client.createWebhookEndpoint({ url }, { token }),
          status.INVALID_ARGUMENT,
          /^url: not an allowed destination: webhooks may only reach host names that resolve to public addresses \(ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows non-public addresses for local development\)$/,
        );
        expect(codeOf(err)).toBe('ERR_UNSAFE_WEBHOOK_URL');
        const details = statusDetailsOf(err.metadata);
        expect(details.errorInfo[0]!.metadata).toEqual({ field: 'url', setting: 'ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS' });
        expect(details.badRequest[0]!.fieldViolations[0]!.field).toBe('url');
      }
      // A public address literal needs no DNS; moving it to loopback is refused too.
      const { endpoint } = await client.createWebhookEndpoint({ url: 'http://93.184.215.14/hooks' }, { token });
      await expectStatus(
        client.updateWebhookEndpoint({ endpointId: endpoint!.id, url: `http://localhost:${receiver.port}/` }, { token }),
        status.INVALID_ARGUMENT,
        /^url: not an allowed destination/,
      );
      const { rows } = await strict.db.pool.query('SELECT url FROM webhook_endpoints');
      expect(rows).toEqual([{ url: 'http://93.184.215.14/hooks' }]);
    } finally {
      await strict.close();
    }
  });

  it('vets again at delivery time and connects only to the address it vetted', async () => {
    const roomId = await createRoom();
    const hook = await endpointFor('/vetted', { roomId });
    // A name that no DNS server answers (RFC 2606): only the relay's resolver
    // knows it, so a delivery proves the connection used the vetted address.
    const host = `hooks.roomgate.invalid:${receiver.port}`;
    await t.db.pool.query('UPDATE webhook_endpoints SET url = $2 WHERE id = $1', [hook.id, `http://${host}/vetted`]);
    const resolver: Resolver = async (name) => (name === 'hooks.roomgate.invalid' ? ['127.0.0.1'] : systemResolver(name));
    await relay.stop();
    const strictRelay = makeRelay({ allowPrivateNetworks: false, resolver });
    strictRelay.start();
    try {
      await touchRoom(roomId, 1);
      await until(async () =>
        expect((await deliveries(hook.id))[0]).toMatchObject({
          state: DeliveryState.DELIVERY_STATE_PENDING,
          lastError:
            'refused: not an allowed destination: webhooks may only reach host names that resolve to public addresses (ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows non-public addresses for local development)',
          lastStatusCode: 0,
        }),
      );
      expect(receiver.received('/vetted')).toHaveLength(0);
    } finally {
      await strictRelay.stop();
    }
    const vettingRelay = makeRelay({ allowPrivateNetworks: true, resolver });
    vettingRelay.start();
    try {
      await until(() => expect(receiver.received('/vetted')).toHaveLength(1));
      expect(receiver.received('/vetted')[0]!.headers.host).toBe(host);
    } finally {
      await vettingRelay.stop();
      relay.start();
    }
  });
});

describe("the server's own relay", () => {
  it('runs inside the server and delivers committed events', async () => {
    const server = await startTestRoomgate(PERMISSIVE);
    const client = server.client.events;
    try {
      const token = await server.managementToken('sandbox');
      const { secret } = await client.createWebhookEndpoint({ url: receiver.url('/served') }, { token });
      const started = Date.now();
      const { room } = await server.client.rooms.createRoom({}, { token });
      await until(() => expect(receiver.received('/served')).toHaveLength(1));
      const [hit] = receiver.received('/served');
      expect(bodyOf(hit!)).toMatchObject({ roomId: room!.id, type: 'EVENT_TYPE_ROOM_CREATED' });
      expect(verifyStandardWebhook(secret, headersOf(hit!), hit!.body)).toBe(true);
      expect(hit!.at - started).toBeLessThan(5_000);
    } finally {
      await server.close();
    }
  });
});
