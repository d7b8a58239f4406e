// What an endpoint gets of the events raised while it was disabled (after a
// 410 Gone), once it is enabled again. As with Svix (the Standard Webhooks
// vendor) and Stripe, enabling does not replay them by itself: a receiver that
// answered 410 asked to stop, and a silent replay of hours of events into a
// receiver just brought back would surprise it. The documented catch-up
// (docs/events-and-webhooks.md, "An endpoint disabled and enabled again") is
// WatchEvents from the cursor of the last event the receiver handled, with the
// endpoint's own filter, and RedeliverEvent for any of them it wants as
// webhooks. This file checks both halves of that contract end to end.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeliveryState } from '../../src/gen/roomgate/v1/events.js';
import type { WebhookRelay } from '../../src/relay/webhook-relay.js';
import { LOOPBACK_GUARD, testRelay } from '../support/test-relay.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { Watch } from '../support/watch.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let t: TestRoomgate;
let admin: string;
let receiver: WebhookReceiver;
let relay: WebhookRelay;

beforeAll(async () => {
  t = await startTestRoomgate({
    ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true',
    ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    ROOMGATE_RELAY_ENABLED: 'false',
  });
  admin = await t.managementToken('sandbox');
  receiver = await startWebhookReceiver();
  relay = testRelay(
    t,
    LOOPBACK_GUARD,
    { concurrency: 4, timeoutMs: 2_000, retryHorizonSeconds: 60, idlePollMs: 20 },
  );
  relay.start();
});
afterAll(async () => {
  await relay?.stop();
  await receiver?.close();
  await t?.close();
});

const until = (check: () => void | Promise<void>) => vi.waitFor(check, { timeout: 10_000, interval: 20 });
const bodyOf = (body: string) => JSON.parse(body) as { id: string; sequence: string; cursor: string };
const sequences = (path: string) => receiver.received(path).map((h) => Number(bodyOf(h.body).sequence));

describe('an endpoint disabled by 410 Gone and enabled again', () => {
  it('gets only new events by itself; WatchEvents from its last cursor and RedeliverEvent catch up the rest, in order', async () => {
    const { room } = await t.client.rooms.createRoom({}, { token: admin });
    const roomId = room!.id;
    const touch = (n: number) => t.client.rooms.updateRoom({ roomId, metadata: JSON.stringify({ n }) }, { token: admin });
    const { endpoint } = await t.client.events.createWebhookEndpoint({ url: receiver.url('/back'), roomId, eventTypes: [] }, { token: admin });
    const endpointId = endpoint!.id;

    await touch(1); // sequence 2: delivered
    await until(() => expect(sequences('/back')).toEqual([2]));
    const lastHandled = bodyOf(receiver.received('/back')[0]!.body).cursor;
    receiver.script('/back', { status: 410 });
    await touch(2); // sequence 3: answered 410, which disables the endpoint
    await until(async () => {
      const { endpoint: e } = await t.client.events.getWebhookEndpoint({ endpointId }, { token: admin });
      expect(e).toMatchObject({ enabled: false });
    });
    await touch(3); // sequences 4 and 5: raised while disabled
    await touch(4);
    await t.client.events.updateWebhookEndpoint({ endpointId, enabled: true }, { token: admin });
    await touch(5); // sequence 6: raised after enabling

    // Enabling sends what is raised from then on, and nothing from before.
    await until(() => expect(sequences('/back')).toEqual([2, 3, 6]));
    await new Promise((r) => setTimeout(r, 300));
    expect(sequences('/back')).toEqual([2, 3, 6]);
    const { deliveries } = await t.client.events.listWebhookDeliveries({ endpointId }, { token: admin });
    expect(deliveries.map((d) => d.state)).toEqual([DeliveryState.DELIVERY_STATE_DELIVERED, DeliveryState.DELIVERY_STATE_FAILED, DeliveryState.DELIVERY_STATE_DELIVERED]);

    // The catch-up: every event of the endpoint's room after the last one the
    // receiver handled, from WatchEvents, then RedeliverEvent for those it missed.
    const watch = new Watch(t.client.eventStream, { afterCursor: lastHandled, roomId }, admin);
    const missed = await watch.received(4); // sequences 3, 4, 5, 6
    watch.cancel();
    expect(missed.map((e) => Number(e.sequence))).toEqual([3, 4, 5, 6]);
    const already = new Set(receiver.received('/back').filter((h) => h.headers['webhook-id']).map((h) => bodyOf(h.body).id));
    already.delete(missed[0]!.id); // the 410 answer was not handled
    for (const e of missed.filter((m) => !already.has(m.id))) {
      await t.client.events.redeliverEvent({ eventId: e.id, endpointId }, { token: admin });
    }
    await until(() => expect(sequences('/back')).toEqual([2, 3, 6, 3, 4, 5]));
    // The same webhook-id as the original event, so receivers deduplicate as usual.
    const redelivered = receiver.received('/back').slice(3);
    expect(redelivered.map((h) => h.headers['webhook-id'])).toEqual(missed.slice(0, 3).map((e) => e.id));
  });
});
