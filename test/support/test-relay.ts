// A webhook relay for integration tests that run their own instead of the
// server's (ROOMGATE_RELAY_ENABLED=false): on the test roomgate's database and
// key-encryption key, with the server's body builder, so what it sends is
// what roomgate serve would send. The caller starts and stops it.
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import { EventCursors } from '../../src/domain/event-cursor.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { UrlGuard, type Resolver } from '../../src/domain/url-guard.js';
import { WebhookRelay, type WebhookRelayOptions } from '../../src/relay/webhook-relay.js';
import { PgWebhookDeliveryQueue } from '../../src/store/webhook-delivery-queue.js';
import { webhookBody } from '../../src/transport/webhook-body.js';
import type { TestRoomgate } from './roomgate.js';

/** Who the relay's SSRF guard lets through, and how it resolves names. */
export interface TestRelayGuard {
  allowPrivateNetworks: boolean;
  resolver: Resolver;
}

/** Every name resolves to loopback, which is allowed: for receivers and tarpits on 127.0.0.1. */
export const LOOPBACK_GUARD: TestRelayGuard = { allowPrivateNetworks: true, resolver: async () => ['127.0.0.1'] };

/** A relay over `t`'s database, not yet started. */
export function testRelay(t: Pick<TestRoomgate, 'db' | 'config'>, guard: TestRelayGuard, options: WebhookRelayOptions): WebhookRelay {
  const kek = t.config.keyEncryptionKey!;
  return new WebhookRelay(
    {
      queue: new PgWebhookDeliveryQueue(t.db.pool),
      guard: new UrlGuard(guard.resolver, { allowPrivateNetworks: guard.allowPrivateNetworks }),
      encryptor: new KeyEncryptor(kek),
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      body: webhookBody(new EventCursors(kek)),
    },
    options,
  );
}
