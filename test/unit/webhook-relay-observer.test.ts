import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import type { EventPayload } from '../../src/domain/events.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { UrlGuard, type Resolver } from '../../src/domain/url-guard.js';
import type { DeliveryOutcome } from '../../src/domain/ports/index.js';
import type { WebhookSender } from '../../src/relay/http-post.js';
import { REFUSED_PRIVATE_ADDRESS, WebhookRelay } from '../../src/relay/webhook-relay.js';
import type { WebhookAttemptResult } from '../../src/domain/webhook-relay-observer.js';
import { endpointInput, MemoryOutbox, MemoryWebhookDeliveryQueue, MemoryWebhookStore } from '../support/fakes/index.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const ENDPOINT = 'a1b2c3d4-0000-4000-8000-000000000001';
const ROOM = 'a1b2c3d4-0000-4000-8000-0000000000aa';
const PUBLIC: Resolver = async () => ['93.184.216.34'];

interface Case {
  send?: WebhookSender;
  resolver?: Resolver;
  /** The secret as stored; by default sealed under the relay's own KEK. */
  sealedSecret?: (encryptor: KeyEncryptor) => Buffer;
  /** Stops the relay once the attempt is under way. */
  stopDuringSend?: boolean;
}

/** Runs one attempt through a relay and returns what its observer was told. */
async function observe(c: Case): Promise<{ results: WebhookAttemptResult[]; lags: number[]; outcome: DeliveryOutcome | undefined }> {
  const encryptor = new KeyEncryptor(randomBytes(32));
  const seal = c.sealedSecret ?? ((e: KeyEncryptor) => e.encrypt(Buffer.from(`whsec_${randomBytes(24).toString('base64')}`), ENDPOINT));
  // The event is written 7.5 s before the attempt, to one endpoint holding the sealed secret.
  const clock = new ManualClock(new Date(NOW.getTime() - 7_500));
  const queue = new MemoryWebhookDeliveryQueue(new MemoryOutbox(clock));
  await new MemoryWebhookStore(queue.outbox).insert(endpointInput(ENDPOINT, seal(encryptor)), 20);
  const payload: EventPayload = { type: 'peer_token_revoked', peerId: 'p', identity: 'i', cause: 'peer_deleted', generation: 1 };
  queue.outbox.append({ environment: 'sandbox', roomId: ROOM, payload });
  clock.advance(7.5);
  const results: WebhookAttemptResult[] = [];
  const lags: number[] = [];
  let sending!: () => void;
  const sent = new Promise<void>((resolve) => (sending = resolve));
  const send = c.send ?? (async () => ({ statusCode: 200, retryAfter: undefined }));
  const relay = new WebhookRelay(
    {
      queue,
      guard: new UrlGuard(c.resolver ?? PUBLIC, { allowPrivateNetworks: false }),
      encryptor,
      clock,
      logger: pino({ level: 'silent' }),
      send: (request) => {
        sending();
        return send(request);
      },
      body: () => Buffer.from('{}'),
      observer: { attempted: (r) => results.push(r), delivered: (s) => lags.push(s) },
    },
    // No jitter: a zero backoff would make the delivery due again at once.
    { concurrency: 1, timeoutMs: 100, retryHorizonSeconds: 60, idlePollMs: 5, random: () => 0.5 },
  );
  relay.start();
  if (c.stopDuringSend) {
    await sent;
    await relay.stop(0);
  } else {
    const end = Date.now() + 2_000;
    while (results.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    await relay.stop();
  }
  return { results, lags, outcome: queue.records[0]?.outcome };
}

const answer = (statusCode: number, retryAfter?: string): WebhookSender => async () => ({ statusCode, retryAfter });
const hang: WebhookSender = (request) =>
  new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));

describe('WebhookRelay observer', () => {
  it('reports a 2xx as delivered, with the lag since the event was created', async () => {
    for (const code of [200, 204]) {
      expect(await observe({ send: answer(code) })).toMatchObject({ results: ['delivered'], lags: [7.5] });
    }
  });

  it('reports other responses as http_error, and 410 as gone, with no lag', async () => {
    expect(await observe({ send: answer(500) })).toMatchObject({ results: ['http_error'], lags: [] });
    expect(await observe({ send: answer(503, '5') })).toMatchObject({ results: ['http_error'], outcome: { delayMs: 5_000 } });
    expect(await observe({ send: answer(302) })).toMatchObject({ results: ['http_error'] });
    expect(await observe({ send: answer(410) })).toMatchObject({ results: ['gone'], outcome: { kind: 'gone' } });
  });

  it('tells a timeout, a failed connection and a stopping relay apart', async () => {
    const refused: WebhookSender = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 93.184.216.34:443'), { code: 'ECONNREFUSED' });
    };
    // last_error is read by the tenant: the code, never the address connected to.
    expect(await observe({ send: refused })).toMatchObject({
      results: ['network_error'],
      outcome: { kind: 'retry', error: 'request failed (ECONNREFUSED)' },
    });
    expect(await observe({ send: hang })).toMatchObject({ results: ['timeout'], outcome: { error: 'timed out after 100 ms' } });
    expect(await observe({ send: hang, stopDuringSend: true })).toMatchObject({ results: ['relay_stopped'] });
  });

  it('reports what stops an attempt before any request: the SSRF guard, DNS, and a failure inside roomgate', async () => {
    const notFound: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    // Operators see them apart in the metric; the tenant reads one last_error for both (no DNS oracle).
    const privateAddress = await observe({ resolver: async () => ['10.0.0.7'] });
    const unresolvable = await observe({ resolver: notFound });
    expect(privateAddress).toMatchObject({ results: ['refused'], outcome: { kind: 'retry', error: REFUSED_PRIVATE_ADDRESS } });
    expect(unresolvable).toMatchObject({ results: ['dns_error'], outcome: { kind: 'retry', error: REFUSED_PRIVATE_ADDRESS } });
    expect(REFUSED_PRIVATE_ADDRESS).not.toMatch(/10\.0\.0\.7|ENOTFOUND|private address|loopback/);
    const foreignKey = (_e: KeyEncryptor) => new KeyEncryptor(randomBytes(32)).encrypt(Buffer.from('whsec_x'), ENDPOINT);
    expect(await observe({ sealedSecret: foreignKey })).toMatchObject({ results: ['internal_error'], outcome: { kind: 'retry' } });
  });
});
