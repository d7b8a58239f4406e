// WebhookRelay over the in-memory delivery queue: what a receiver sees of the
// order of a room's events, and what a redelivery during an attempt does.
// The queue rules themselves (per-room order, fencing) are the store's; the
// Postgres versions are covered by the integration tests.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import type { EventPayload } from '../../src/domain/events.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { UrlGuard } from '../../src/domain/url-guard.js';
import type { WebhookResponse, WebhookSender } from '../../src/relay/http-post.js';
import { environmentShare } from '../../src/relay/fair-share.js';
import { WebhookRelay } from '../../src/relay/webhook-relay.js';
import { endpointInput, MemoryOutbox, MemoryWebhookDeliveryQueue, MemoryWebhookStore } from '../support/fakes/index.js';

const ENDPOINT = 'b1b2c3d4-0000-4000-8000-000000000001';
const ROOM_A = 'b1b2c3d4-0000-4000-8000-0000000000aa';
const ROOM_B = 'b1b2c3d4-0000-4000-8000-0000000000bb';
const payload: EventPayload = { type: 'peer_token_revoked', peerId: 'p', identity: 'i', cause: 'peer_deleted', generation: 1 };

/** One endpoint in a fresh outbox, and a relay (not started) sending to it through `send`. */
async function setup(send: WebhookSender) {
  const encryptor = new KeyEncryptor(randomBytes(32));
  const clock = new ManualClock(new Date('2026-03-01T12:00:00Z'));
  const outbox = new MemoryOutbox(clock);
  const store = new MemoryWebhookStore(outbox);
  const queue = new MemoryWebhookDeliveryQueue(outbox);
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  await store.insert(endpointInput(ENDPOINT, encryptor.encrypt(Buffer.from(secret), ENDPOINT)), 20);
  const relay = new WebhookRelay(
    {
      queue,
      guard: new UrlGuard(async () => ['93.184.216.34'], { allowPrivateNetworks: false }),
      encryptor,
      clock,
      logger: pino({ level: 'silent' }),
      send,
      // The body names the event, so the sender can tell which one it got.
      body: (event) => Buffer.from(event.id),
    },
    // No jitter: a zero backoff would make a failed delivery due again at once.
    { concurrency: 4, timeoutMs: 1_000, retryHorizonSeconds: 60, idlePollMs: 5, random: () => 0.5 },
  );
  const append = (roomId: string) => outbox.append({ environment: 'sandbox', roomId, payload }).id;
  return { outbox, store, queue, relay, append };
}

async function until(done: () => boolean): Promise<void> {
  const end = Date.now() + 2_000;
  while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  expect(done()).toBe(true);
}

const ok: WebhookResponse = { statusCode: 200, retryAfter: undefined };

describe('WebhookRelay', () => {
  it("sends a room's events to an endpoint one at a time and in order, while other rooms go on", async () => {
    const sent: string[] = [];
    const inFlight = new Set<string>();
    let mostInFlightOfA = 0;
    let ids: { a: string[]; b: string } | undefined;
    const { relay, append } = await setup(async (request) => {
      const id = request.body.toString();
      sent.push(id);
      inFlight.add(id);
      mostInFlightOfA = Math.max(mostInFlightOfA, [...inFlight].filter((x) => ids?.a.includes(x)).length);
      await new Promise((r) => setTimeout(r, 10));
      inFlight.delete(id);
      return ok;
    });
    ids = { a: [append(ROOM_A), append(ROOM_A), append(ROOM_A)], b: append(ROOM_B) };
    relay.start();
    await until(() => sent.length === 4);
    await relay.stop();
    expect(sent.filter((id) => ids.a.includes(id))).toEqual(ids.a);
    expect(mostInFlightOfA).toBe(1);
    // Room B's event did not wait behind room A's backlog.
    expect(sent.indexOf(ids.b)).toBeLessThan(sent.indexOf(ids.a[1]!));
  });

  it('does not let the late result of an attempt undo a redelivery made during it', async () => {
    let release!: (response: WebhookResponse) => void;
    let calls = 0;
    const { store, queue, relay, append } = await setup(() => {
      calls += 1;
      return calls === 1 ? new Promise((resolve) => (release = resolve)) : Promise.resolve(ok);
    });
    const event = append(ROOM_A);
    relay.start();
    await until(() => calls === 1);
    await store.redeliver('sandbox', event, ENDPOINT);
    release({ statusCode: 500, retryAfter: undefined });
    await until(() => queue.records.length === 2);
    await relay.stop();
    expect(queue.records.map((r) => [r.outcome.kind, r.applied])).toEqual([
      ['retry', false],
      ['delivered', true],
    ]);
    expect(await store.listDeliveries(ENDPOINT, undefined, 10)).toMatchObject([
      { eventId: event, state: 'delivered', attempts: 1, lastStatusCode: 200, lastError: '' },
    ]);
  });
});

/**
 * A relay with 4 slots over `endpoints` (id → environment and host); requests
 * to hosts named `hang*` never get an answer and end only when aborted.
 */
async function fairnessSetup(endpoints: Record<string, { environment: 'sandbox' | 'production'; host: string }>) {
  const encryptor = new KeyEncryptor(randomBytes(32));
  const outbox = new MemoryOutbox(new ManualClock(new Date('2026-03-01T12:00:00Z')));
  const store = new MemoryWebhookStore(outbox);
  for (const [id, { environment, host }] of Object.entries(endpoints)) {
    const secret = encryptor.encrypt(Buffer.from(`whsec_${randomBytes(24).toString('base64')}`), id);
    await store.insert(endpointInput(id, secret, { environment, url: `https://${host}/in` }), 20);
  }
  const hanging = new Set<string>();
  const delivered: { host: string; at: number }[] = [];
  const send: WebhookSender = (request) => {
    const host = request.url.hostname;
    if (!host.startsWith('hang')) {
      delivered.push({ host, at: Date.now() });
      return Promise.resolve(ok);
    }
    const key = `${host}:${request.body.toString()}`;
    hanging.add(key);
    return new Promise((_resolve, reject) =>
      request.signal.addEventListener('abort', () => {
        hanging.delete(key);
        reject(new Error('aborted'));
      }),
    );
  };
  const relay = new WebhookRelay(
    {
      queue: new MemoryWebhookDeliveryQueue(outbox),
      guard: new UrlGuard(async () => ['93.184.216.34'], { allowPrivateNetworks: false }),
      encryptor,
      clock: outbox.clock,
      logger: pino({ level: 'silent' }),
      send,
      body: (event) => Buffer.from(event.id),
    },
    { concurrency: 4, timeoutMs: 5_000, retryHorizonSeconds: 60, idlePollMs: 5, random: () => 0.5 },
  );
  const append = (environment: 'sandbox' | 'production', roomId: string) => outbox.append({ environment, roomId, payload }).id;
  return { relay, hanging, delivered, append };
}

const id = (n: number) => `c1c2c3d4-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;

describe('WebhookRelay fairness', () => {
  it('leaves a quarter of its slots to production while every sandbox endpoint hangs', async () => {
    const { relay, hanging, delivered, append } = await fairnessSetup({
      [id(1)]: { environment: 'sandbox', host: 'hang1.example' },
      [id(2)]: { environment: 'sandbox', host: 'hang2.example' },
      [id(3)]: { environment: 'sandbox', host: 'hang3.example' },
      [id(4)]: { environment: 'sandbox', host: 'hang4.example' },
      [id(5)]: { environment: 'production', host: 'prod.example' },
    });
    append('sandbox', ROOM_A);
    append('sandbox', ROOM_B);
    relay.start();
    await until(() => hanging.size === 3);
    const appended = Date.now();
    append('production', ROOM_A);
    await until(() => delivered.length === 1);
    // Well inside the 5 s attempt timeout: production did not wait for a sandbox slot.
    expect(delivered[0]!.at - appended).toBeLessThan(1_000);
    expect(hanging.size).toBe(3);
    await relay.stop(0);
  });

  it('keeps a hanging endpoint to 2 attempts while its environment\'s other endpoint gets every room', async () => {
    const { relay, hanging, delivered, append } = await fairnessSetup({
      [id(1)]: { environment: 'sandbox', host: 'hang1.example' },
      [id(2)]: { environment: 'sandbox', host: 'ok.example' },
    });
    const rooms = [ROOM_A, ROOM_B, 'b1b2c3d4-0000-4000-8000-0000000000cc', 'b1b2c3d4-0000-4000-8000-0000000000dd'];
    for (const room of rooms) append('sandbox', room);
    relay.start();
    await until(() => delivered.length === rooms.length);
    await new Promise((r) => setTimeout(r, 50));
    expect(hanging.size).toBe(2);
    await relay.stop(0);
  });

  it('lets one environment fill all but a quarter of the slots, rounded up', () => {
    expect([1, 2, 3, 4, 8, 16].map(environmentShare)).toEqual([1, 1, 2, 3, 6, 12]);
  });
});
