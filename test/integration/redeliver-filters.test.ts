// RedeliverEvent honours the endpoint's filter (issue 12, section 3): an event
// that the endpoint's room_id or event_types excludes was never delivered
// there, and RedeliverEvent refuses it with FAILED_PRECONDITION instead of
// sending it. Real gRPC and Postgres (one database per file, see
// test/support/database.ts); the relay is off, since only the delivery rows
// matter here, and the endpoint URL never receives anything.
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryState, EventType } from '../../src/gen/roomgate/v1/events.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';

let t: TestRoomgate;
let admin: string;

beforeAll(async () => {
  t = await startTestRoomgate({
    ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true',
    ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    ROOMGATE_RELAY_ENABLED: 'false',
  });
  admin = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

const createRoom = async () => (await t.client.rooms.createRoom({}, { token: admin })).room!.id;

async function eventId(roomId: string, seq: number): Promise<string> {
  const { rows } = await t.db.pool.query<{ id: string }>('SELECT id FROM events WHERE room_id = $1 AND room_seq = $2', [roomId, seq]);
  return rows[0]!.id;
}

async function endpoint(fields: { roomId?: string; eventTypes?: EventType[] }): Promise<string> {
  const { endpoint } = await t.client.events.createWebhookEndpoint(
    { url: 'http://127.0.0.1:9/hook', roomId: fields.roomId ?? '', eventTypes: fields.eventTypes ?? [] },
    { token: admin },
  );
  return endpoint!.id;
}

const deliveries = async (endpointId: string) =>
  (await t.client.events.listWebhookDeliveries({ endpointId }, { token: admin })).deliveries;

describe('RedeliverEvent and the endpoint filter', () => {
  it("refuses an event of another room than the endpoint's room_id, and creates no delivery", async () => {
    const mine = await createRoom();
    const other = await createRoom();
    const hook = await endpoint({ roomId: mine });
    const err = await expectStatus(
      t.client.events.redeliverEvent({ eventId: await eventId(other, 1), endpointId: hook }, { token: admin }),
      status.FAILED_PRECONDITION,
      /^the endpoint's filter \(room_id or event_types\) excludes this event/,
    );
    expect(statusDetailsOf(err.metadata).errorInfo[0]?.reason).toBe('ERR_EVENT_NOT_SUBSCRIBED');
    expect(await deliveries(hook)).toEqual([]);

    // Its own room's event is still redelivered.
    const { delivery } = await t.client.events.redeliverEvent({ eventId: await eventId(mine, 1), endpointId: hook }, { token: admin });
    expect(delivery).toMatchObject({ state: DeliveryState.DELIVERY_STATE_PENDING, attempts: 0 });
  });

  it('refuses an event whose type the endpoint does not take, and redelivers one it does', async () => {
    const roomId = await createRoom();
    await t.client.rooms.updateRoom({ roomId, metadata: '{"n":1}' }, { token: admin });
    const hook = await endpoint({ eventTypes: [EventType.EVENT_TYPE_ROOM_UPDATED] });
    await expectStatus(
      t.client.events.redeliverEvent({ eventId: await eventId(roomId, 1), endpointId: hook }, { token: admin }),
      status.FAILED_PRECONDITION,
      /excludes this event/,
    );
    const updated = await eventId(roomId, 2);
    const { delivery } = await t.client.events.redeliverEvent({ eventId: updated, endpointId: hook }, { token: admin });
    expect(delivery).toMatchObject({ eventId: updated, eventType: EventType.EVENT_TYPE_ROOM_UPDATED });
    expect((await deliveries(hook)).map((d) => d.eventId)).toEqual([updated]);
  });
});
