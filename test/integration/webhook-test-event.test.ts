// SendTestWebhookEvent over real gRPC and Postgres, delivered by the server's
// own relay to an HTTP receiver on 127.0.0.1 that checks every signature with
// an independent Standard Webhooks implementation. The test event reaches the
// endpoint named and no other, never a WatchEvents stream, and leaves the
// stream's cursors working; it is retried and redelivered like any delivery;
// the per-endpoint limit holds across two instances on one database. The
// server runs on a database of this file's own (see test/support/database.ts);
// each test makes its own endpoints, on paths of their own.
import { randomBytes } from 'node:crypto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RetryInfo } from '../../src/gen/google/rpc/error_details.js';
import { Status } from '../../src/gen/google/rpc/status.js';
import { DeliveryState, EventType } from '../../src/gen/roomgate/v1/events.js';
import { STATUS_DETAILS_TRAILER } from '../../src/transport/status.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { verifyStandardWebhook } from '../support/standard-webhooks.js';
import { statusDetailsOf } from '../support/status-details.js';
import { Watch } from '../support/watch.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const ENV = {
  ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true',
  ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  ROOMGATE_MAX_WEBHOOK_ENDPOINTS_PER_ENVIRONMENT: '100',
};

let t: TestRoomgate;
let admin: string;
let receiver: WebhookReceiver;

beforeAll(async () => {
  t = await startTestRoomgate(ENV);
  admin = await t.managementToken('sandbox');
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await t?.close();
});

const as = (token: string) => ({ token });
const until = (check: () => void | Promise<void>, timeout = 10_000) => vi.waitFor(check, { timeout, interval: 20 });

/** An endpoint on a path of its own; returns its id, secret and path. */
async function endpoint(fields: { eventTypes?: EventType[]; roomId?: string } = {}, token = admin) {
  const path = `/${randomBytes(6).toString('hex')}`;
  const created = await t.client.events.createWebhookEndpoint({ url: receiver.url(path), ...fields }, as(token));
  return { id: created.endpoint!.id, secret: created.secret, path };
}

const bodies = (path: string) => receiver.received(path).map((r) => JSON.parse(r.body) as Record<string, unknown>);

describe('SendTestWebhookEvent', () => {
  it('delivers one signed test event to that endpoint only, whatever its filter, and never on WatchEvents', async () => {
    // Its filter takes only ROOM_DELETED; the test event goes there anyway.
    const target = await endpoint({ eventTypes: [EventType.EVENT_TYPE_ROOM_DELETED] });
    const other = await endpoint();
    const watch = new Watch(t.client.eventStream, {}, admin);
    await watch.subscribed;

    const { delivery } = await t.client.events.sendTestWebhookEvent({ endpointId: target.id }, as(admin));
    expect(delivery).toMatchObject({ endpointId: target.id, eventType: EventType.EVENT_TYPE_WEBHOOK_TEST, state: DeliveryState.DELIVERY_STATE_PENDING, attempts: 0 });

    await until(() => expect(receiver.received(target.path)).toHaveLength(1));
    const [hit] = receiver.received(target.path);
    expect(hit!.headers['webhook-id']).toBe(delivery!.eventId);
    expect(verifyStandardWebhook(target.secret, hit!.headers as Record<string, string>, hit!.body)).toBe(true);
    expect(verifyStandardWebhook(other.secret, hit!.headers as Record<string, string>, hit!.body)).toBe(false);
    const body = JSON.parse(hit!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ id: delivery!.eventId, environment: 'ENVIRONMENT_SANDBOX', type: 'EVENT_TYPE_WEBHOOK_TEST', webhookTest: { endpointId: target.id } });
    expect(body.roomId).toBeUndefined();
    await until(async () => {
      const { deliveries } = await t.client.events.listWebhookDeliveries({ endpointId: target.id }, as(admin));
      expect(deliveries).toMatchObject([{ eventId: delivery!.eventId, eventType: EventType.EVENT_TYPE_WEBHOOK_TEST, state: DeliveryState.DELIVERY_STATE_DELIVERED, attempts: 1, lastStatusCode: 200 }]);
    });

    // A room made after the test: the watch gets its ROOM_CREATED first, so
    // it never got the test event, which was written before.
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    const [first] = await watch.received(1);
    expect(first).toMatchObject({ type: EventType.EVENT_TYPE_ROOM_CREATED, roomId: room!.id });
    watch.cancel();
    // The other endpoint gets the room's event and nothing of the test.
    await until(() => expect(bodies(other.path).map((b) => b.type)).toEqual(['EVENT_TYPE_ROOM_CREATED']));
    const { deliveries } = await t.client.events.listWebhookDeliveries({ endpointId: other.id }, as(admin));
    expect(deliveries.map((d) => d.eventType)).toEqual([EventType.EVENT_TYPE_ROOM_CREATED]);

    // The test body's cursor is a working WatchEvents cursor: resuming from it
    // streams what came after, starting with that room.
    const resumed = new Watch(t.client.eventStream, { afterCursor: body.cursor as string }, admin);
    const [next] = await resumed.received(1);
    expect(next).toMatchObject({ type: EventType.EVENT_TYPE_ROOM_CREATED, roomId: room!.id });
    resumed.cancel();
  });

  it('is retried like any delivery, and RedeliverEvent sends it again to that endpoint only', async () => {
    const target = await endpoint();
    const other = await endpoint();
    receiver.script(target.path, { status: 500 });
    const { delivery } = await t.client.events.sendTestWebhookEvent({ endpointId: target.id }, as(admin));
    await until(() => expect(receiver.received(target.path)).toHaveLength(2));
    const [failed, retried] = receiver.received(target.path);
    expect(retried!.headers['webhook-id']).toBe(failed!.headers['webhook-id']);
    expect(retried!.body).toBe(failed!.body);
    for (const hit of [failed!, retried!]) expect(verifyStandardWebhook(target.secret, hit.headers as Record<string, string>, hit.body)).toBe(true);
    await until(async () => {
      const { deliveries } = await t.client.events.listWebhookDeliveries({ endpointId: target.id }, as(admin));
      expect(deliveries[0]).toMatchObject({ state: DeliveryState.DELIVERY_STATE_DELIVERED, attempts: 2 });
    });

    const again = await t.client.events.redeliverEvent({ eventId: delivery!.eventId, endpointId: target.id }, as(admin));
    expect(again.delivery).toMatchObject({ state: DeliveryState.DELIVERY_STATE_PENDING, attempts: 0, eventType: EventType.EVENT_TYPE_WEBHOOK_TEST });
    await until(() => expect(receiver.received(target.path)).toHaveLength(3));
    expect(receiver.received(target.path)[2]!.headers['webhook-id']).toBe(delivery!.eventId);

    await expectStatus(
      t.client.events.redeliverEvent({ eventId: delivery!.eventId, endpointId: other.id }, as(admin)),
      status.FAILED_PRECONDITION,
      /sent to another endpoint/,
    );
    expect(receiver.received(other.path)).toEqual([]);
  });

  it('neither waits for nor holds back the endpoint\'s other deliveries, environment-wide ones included', async () => {
    const target = await endpoint();
    // The receiver refuses test events, so the test delivery keeps retrying.
    receiver.respond(target.path, (hit) => (hit.body.includes('EVENT_TYPE_WEBHOOK_TEST') ? { status: 500 } : undefined));
    const { delivery } = await t.client.events.sendTestWebhookEvent({ endpointId: target.id }, as(admin));
    await until(() => expect(receiver.received(target.path)).toHaveLength(1));
    // An environment-wide ban's event, like the test event, has no room; it
    // still goes out while the test delivery is pending.
    await t.client.bans.createBan({ identity: `test-event-${randomBytes(4).toString('hex')}` }, as(admin));
    await until(() => expect(bodies(target.path).map((b) => b.type)).toContain('EVENT_TYPE_BAN_CREATED'));
    const { deliveries } = await t.client.events.listWebhookDeliveries({ endpointId: target.id }, as(admin));
    expect(deliveries.find((d) => d.eventId === delivery!.eventId)).toMatchObject({ state: DeliveryState.DELIVERY_STATE_PENDING });
    await t.client.events.deleteWebhookEndpoint({ endpointId: target.id }, as(admin));
  });

  it('is FAILED_PRECONDITION for a disabled endpoint, and NOT_FOUND for an unknown or another environment\'s', async () => {
    const target = await endpoint();
    await t.client.events.updateWebhookEndpoint({ endpointId: target.id, enabled: false }, as(admin));
    await expectStatus(
      t.client.events.sendTestWebhookEvent({ endpointId: target.id }, as(admin)),
      status.FAILED_PRECONDITION,
      /disabled; enable it with UpdateWebhookEndpoint/,
    );
    await expectStatus(t.client.events.sendTestWebhookEvent({ endpointId: '00000000-0000-4000-8000-00000000dead' }, as(admin)), status.NOT_FOUND, /webhook endpoint not found/);
    const live = await t.managementToken('production');
    const theirs = await endpoint({}, live);
    await expectStatus(t.client.events.sendTestWebhookEvent({ endpointId: theirs.id }, as(admin)), status.NOT_FOUND, /webhook endpoint not found/);
    await expectStatus(t.client.events.sendTestWebhookEvent({ endpointId: 'nope' }, as(admin)), status.INVALID_ARGUMENT, /^endpoint_id: must be a UUID/);
    // Enabled again, it works.
    await t.client.events.updateWebhookEndpoint({ endpointId: target.id, enabled: true }, as(admin));
    await t.client.events.sendTestWebhookEvent({ endpointId: target.id }, as(admin));
    await until(() => expect(receiver.received(target.path)).toHaveLength(1));
    expect(receiver.received(theirs.path)).toEqual([]);
  });

  it('allows 5 per endpoint per minute across instances, then RESOURCE_EXHAUSTED with a retry hint', async () => {
    const target = await endpoint();
    const second = await startTestRoomgate(ENV, { sharing: t });
    try {
      // Eight at once, split over two instances: the database lets exactly five through.
      const calls = Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? second : t).client.events.sendTestWebhookEvent({ endpointId: target.id }, as(admin)).then(
          () => 'OK',
          (err: ServiceError) => err,
        ),
      );
      const outcomes = await Promise.all(calls);
      expect(outcomes.filter((o) => o === 'OK')).toHaveLength(5);
      const refused = outcomes.filter((o): o is ServiceError => o !== 'OK');
      expect(refused).toHaveLength(3);
      for (const err of refused) {
        expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
        expect(err.details).toMatch(/^the endpoint was sent 5 test events in the last 60 s, its limit; try again in \d+ s$/);
        const info = statusDetailsOf(err.metadata).errorInfo[0]!;
        expect(info).toMatchObject({ reason: 'ERR_WEBHOOK_TEST_RATE_LIMITED', metadata: { limit: '5', windowSeconds: '60' } });
        const retryAfter = Number(info.metadata.retryAfterSeconds);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
        const detail = Status.decode(err.metadata.get(STATUS_DETAILS_TRAILER)[0] as Buffer).details.find((d) => d.typeUrl.endsWith('google.rpc.RetryInfo'));
        expect(RetryInfo.decode(detail!.value).retryDelay).toEqual({ seconds: String(retryAfter), nanos: 0 });
      }
      // Only the five went out; another endpoint has a limit of its own.
      await until(() => expect(receiver.received(target.path)).toHaveLength(5));
      const fresh = await endpoint();
      await second.client.events.sendTestWebhookEvent({ endpointId: fresh.id }, as(admin));
    } finally {
      await second.close();
    }
  });

  it('admits scopes rooms and admin, and refuses read, verify and peer tokens', async () => {
    for (const scope of ['rooms', 'admin'] as const) {
      const target = await endpoint();
      const token = await t.managementToken('sandbox', [scope]);
      await t.client.events.sendTestWebhookEvent({ endpointId: target.id }, as(token));
    }
    const target = await endpoint();
    for (const scope of ['read', 'verify'] as const) {
      const token = await t.managementToken('sandbox', [scope]);
      await expectStatus(t.client.events.sendTestWebhookEvent({ endpointId: target.id }, as(token)), status.PERMISSION_DENIED, /lacks the 'rooms' scope/);
    }
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    const { peerToken } = await t.client.peers.createPeer({ roomId: room!.id, permissions: { canUpdateRoom: true, canRemoveParticipants: true } }, as(admin));
    await expectStatus(t.client.events.sendTestWebhookEvent({ endpointId: target.id }, as(peerToken)), status.PERMISSION_DENIED, /needs a management token/);
    const { deliveries } = await t.client.events.listWebhookDeliveries({ endpointId: target.id }, as(admin));
    expect(deliveries.filter((d) => d.eventType === EventType.EVENT_TYPE_WEBHOOK_TEST)).toEqual([]);
  });

  it('is not a type that a watch or an endpoint filter may ask for', async () => {
    const watch = new Watch(t.client.eventStream, { types: [EventType.EVENT_TYPE_WEBHOOK_TEST] }, admin);
    const err = await watch.ended();
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^types: EVENT_TYPE_WEBHOOK_TEST is never streamed/);
    await expectStatus(
      t.client.events.createWebhookEndpoint({ url: receiver.url('/never'), eventTypes: [EventType.EVENT_TYPE_WEBHOOK_TEST] }, as(admin)),
      status.INVALID_ARGUMENT,
      /^event_types: EVENT_TYPE_WEBHOOK_TEST cannot be subscribed to/,
    );
  });
});
