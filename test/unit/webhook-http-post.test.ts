// postWebhook against a TCP tarpit (accepts, never answers), with a signal
// that never aborts: the sender's own timers must end the request, so a
// signal that is lost (nodejs/node#57736) cannot hold a relay slot forever.
import { afterEach, describe, expect, it } from 'vitest';
import { postWebhook, WebhookTimeoutError } from '../../src/relay/http-post.js';
import { startTarpit, type Tarpit } from '../support/tarpit.mjs';

let tarpit: Tarpit | undefined;
afterEach(async () => {
  await tarpit?.close();
  tarpit = undefined;
});

describe('postWebhook', () => {
  it('rejects with WebhookTimeoutError when no response headers arrive within timeoutMs', async () => {
    tarpit = await startTarpit();
    const started = Date.now();
    const sent = postWebhook({
      url: new URL(tarpit.url('/hook')),
      addresses: ['127.0.0.1'],
      headers: {},
      body: Buffer.from('{}'),
      signal: new AbortController().signal,
      timeoutMs: 300,
    });
    const err = await sent.then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(WebhookTimeoutError);
    expect((err as WebhookTimeoutError).code).toBe('ETIMEDOUT');
    expect(tarpit.accepted()).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1_500);
  });
});
