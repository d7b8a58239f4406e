// Webhook metrics on /metrics, from the server's own relay (the production
// wiring in src/main.ts) sending to a real receiver on 127.0.0.1. Each test
// uses a room of its own with an endpoint limited to that room, so one test's
// deliveries never reach another's path; the counters are compared before and
// after, since they are shared by the whole file.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RoomgateClient } from '../../src/client/index.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let t: TestRoomgate;
let admin: string;
let events: RoomgateClient['events'];
let receiver: WebhookReceiver;

beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true', ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
  admin = await t.managementToken('sandbox');
  events = t.client.events;
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await t?.close();
});

const until = (check: () => void | Promise<void>, timeout = 15_000) => vi.waitFor(check, { timeout, interval: 50 });

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${t.roomgate.metricsPort}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of the sample `series` (name and labels exactly as exposed); fails when it is missing. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  expect(line, `${series} in /metrics`).toBeDefined();
  return Number(line!.slice(series.length + 1));
}

const attempts = (text: string, result: string) => sample(text, `roomgate_webhook_attempts_total{result="${result}"}`);
const lagCount = (text: string) => sample(text, 'roomgate_webhook_delivery_lag_seconds_count');

/** A room whose endpoint at `path` gets its later events; the room's own ROOM_CREATED predates the endpoint. */
async function hookedRoom(path: string): Promise<string> {
  const { room } = await t.client.rooms.createRoom({}, { token: admin });
  await events.createWebhookEndpoint({ url: receiver.url(path), roomId: room!.id }, { token: admin });
  return room!.id;
}

describe('webhook metrics', () => {
  it('counts delivered attempts and observes the delivery lag; the outbox drains to 0', async () => {
    const before = await scrape();
    const roomId = await hookedRoom('/ok');
    await t.client.peers.createPeer({ roomId }, { token: admin });
    await t.client.rooms.updateRoom({ roomId, metadata: '{"n":1}' }, { token: admin });
    await until(() => expect(receiver.received('/ok')).toHaveLength(2));

    // The relay reports an attempt after the receiver has answered it.
    await until(async () => {
      const after = await scrape();
      expect(attempts(after, 'delivered') - attempts(before, 'delivered')).toBe(2);
      expect(lagCount(after) - lagCount(before)).toBe(2);
      expect(sample(after, 'roomgate_webhook_deliveries_pending')).toBe(0);
      expect(sample(after, 'roomgate_webhook_oldest_pending_seconds')).toBe(0);
    });
    const after = await scrape();
    expect(attempts(after, 'http_error')).toBe(attempts(before, 'http_error'));
    // A loopback delivery takes well under a minute, and a lag is never negative.
    expect(sample(after, 'roomgate_webhook_delivery_lag_seconds_bucket{le="60"}')).toBe(lagCount(after));
    expect(sample(after, 'roomgate_webhook_delivery_lag_seconds_sum')).toBeGreaterThanOrEqual(0);
  });

  it('counts failed attempts as http_error and shows the undelivered event as pending until it goes through', async () => {
    const before = await scrape();
    const roomId = await hookedRoom('/down');
    receiver.respond('/down', () => ({ status: 500 }));
    await t.client.peers.createPeer({ roomId }, { token: admin });
    await until(() => expect(receiver.received('/down').length).toBeGreaterThanOrEqual(2));

    await until(async () => {
      const failing = await scrape();
      expect(attempts(failing, 'http_error') - attempts(before, 'http_error')).toBeGreaterThanOrEqual(2);
      expect(sample(failing, 'roomgate_webhook_deliveries_pending')).toBe(1);
      expect(sample(failing, 'roomgate_webhook_oldest_pending_seconds')).toBeGreaterThan(0);
    });
    expect(attempts(await scrape(), 'delivered')).toBe(attempts(before, 'delivered'));

    receiver.respond('/down', () => undefined);
    await until(async () => {
      const recovered = await scrape();
      expect(attempts(recovered, 'delivered') - attempts(before, 'delivered')).toBe(1);
      expect(sample(recovered, 'roomgate_webhook_deliveries_pending')).toBe(0);
    });
  });

  it('still serves /metrics when the outbox query cannot answer, with NaN for the outbox gauges', async () => {
    // A lock the backlog query waits behind until its timeout: the database
    // answers nothing, as when it is unreachable.
    const holder: pg.PoolClient = await t.db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE webhook_deliveries IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const text = await scrape();
      expect(Date.now() - started).toBeLessThan(8_000);
      // prom-client spells it "Nan"; Prometheus parses NaN in any case.
      expect(text).toMatch(/^roomgate_webhook_deliveries_pending nan$/im);
      expect(text).toMatch(/^roomgate_webhook_oldest_pending_seconds nan$/im);
      expect(text).toMatch(/roomgate_rpc_requests_total\{method="CreateRoom",code="0"\} [1-9]/);
      expect(text).toMatch(/roomgate_webhook_attempts_total\{result="delivered"\} [1-9]/);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect(sample(await scrape(), 'roomgate_webhook_deliveries_pending')).toBe(0);
  });
});
