// Webhooks across processes: events committed by a server that is then
// SIGKILLed before delivering are delivered after a restart, with their ids,
// none missing; and two relay processes on one database send each event
// exactly once.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoomgateClient } from '../../src/client/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { mintTestToken } from '../support/roomgate.js';
import { serveRoomgate, type RoomgateProcess } from '../support/server-process.js';
import { verifyStandardWebhook } from '../support/standard-webhooks.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { waitUntil } from '../support/wait-until.js';

let db: TestDatabase;
let receiver: WebhookReceiver;
let admin: string;
const running: RoomgateProcess[] = [];
const kek = randomBytes(32).toString('base64');

function serve(relay: boolean): Promise<RoomgateProcess> {
  return serveRoomgate({
    DATABASE_URL: db.connectionString,
    ROOMGATE_KEY_ENCRYPTION_KEY: kek,
    ROOMGATE_RELAY_ENABLED: String(relay),
    ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true',
    ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  }).then((p) => {
    running.push(p);
    return p;
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await startWebhookReceiver();
  admin = await mintTestToken(db.pool);
});

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await receiver?.close();
  await db?.drop();
});

async function eventIds(roomIds: string[]): Promise<string[]> {
  const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM events WHERE room_id = ANY ($1) ORDER BY id', [roomIds]);
  return rows.map((r) => r.id);
}

describe('webhooks across processes', () => {
  it('delivers events committed before a SIGKILL after a restart, with the same ids and none missing', async () => {
    const a = await serve(false);
    const client = createRoomgateClient(a.address, { token: admin });
    const { endpoint, secret } = await client.events.createWebhookEndpoint({ url: receiver.url('/crash') });
    const rooms: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { room } = await client.rooms.createRoom({});
      await client.peers.createPeer({ roomId: room!.id });
      rooms.push(room!.id);
    }
    client.close();
    // Committed, never delivered: this process runs no relay. Kill it hard.
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    expect(receiver.received('/crash')).toHaveLength(0);

    await serve(true);
    const expected = await eventIds(rooms);
    expect(expected).toHaveLength(10);
    await waitUntil(() => new Set(receiver.received('/crash').map((h) => h.headers['webhook-id'])).size >= 10, 20_000);
    const hits = receiver.received('/crash');
    expect([...new Set(hits.map((h) => String(h.headers['webhook-id'])))].sort()).toEqual(expected);
    for (const hit of hits) {
      expect(verifyStandardWebhook(secret, hit.headers as never, hit.body)).toBe(true);
      expect(JSON.parse(hit.body).id).toBe(hit.headers['webhook-id']);
    }
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND state = 'delivered'", [
      endpoint!.id,
    ]);
    expect(rows[0].n).toBe(10);
  });

  it('sends each event once with two relay processes on one database', async () => {
    const [b, c] = [running.at(-1)!, await serve(true)];
    const client = createRoomgateClient(b.address, { token: admin });
    await client.events.createWebhookEndpoint({ url: receiver.url('/pair') });
    const rooms = await Promise.all(Array.from({ length: 15 }, () => client.rooms.createRoom({})));
    const viaC = createRoomgateClient(c.address, { token: admin });
    await Promise.all(rooms.map(({ room }) => viaC.peers.createPeer({ roomId: room!.id })));
    client.close();
    viaC.close();
    const expected = await eventIds(rooms.map((r) => r.room!.id));
    expect(expected).toHaveLength(30);
    await waitUntil(() => receiver.received('/pair').length >= 30, 20_000);
    // Give a duplicate, if any, time to arrive before counting.
    await new Promise((r) => setTimeout(r, 1_000));
    const ids = receiver.received('/pair').map((h) => String(h.headers['webhook-id']));
    expect(ids).toHaveLength(30);
    expect([...new Set(ids)].sort()).toEqual(expected);
  });
});
