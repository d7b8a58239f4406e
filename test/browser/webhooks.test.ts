// Webhook endpoints and their delivery log in real Chromium. roomgate's own
// relay sends to a receiver on 127.0.0.1, which the server allows only with
// ROOMGATE_WEBHOOK_ALLOW_HTTP and ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS (as in
// test/integration/webhooks.test.ts); the receiver checks each signature with
// the secret the console showed.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectNoSeriousAxeViolations } from '../support/browser-axe.js';
import { describeBrowser, eventually, useConsole } from '../support/browser-console.js';
import { verifyStandardWebhook, type SignedHeaders } from '../support/standard-webhooks.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';

const c = useConsole(import.meta.url, { ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true', ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

const eventOf = (hit: ReceivedWebhook) => JSON.parse(hit.body) as { id: string; type: string; roomId?: string };

/** Creates an endpoint in the UI and returns its path on the receiver, its id and the secret the console showed. */
async function createEndpointInUi(description: string): Promise<{ path: string; id: string; secret: string }> {
  const { page } = c;
  const path = `/hook-${randomBytes(4).toString('hex')}`;
  await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
  await c.heading('Webhooks').waitFor();
  await page.getByLabel('Endpoint URL', { exact: true }).fill(receiver.url(path));
  await page.getByLabel('Description', { exact: true }).fill(description);
  await page.getByRole('button', { name: 'Create endpoint', exact: true }).click();
  const secretBox = page.getByLabel('Signing secret', { exact: true });
  await secretBox.waitFor();
  expect(await secretBox.getAttribute('readonly')).not.toBeNull();
  const secret = await secretBox.inputValue();
  expect(secret).toMatch(/^whsec_/);
  await page.getByText(/not be shown again/i).first().waitFor();
  const { endpoints } = await c.t.client.events.listWebhookEndpoints({}, { token: c.root });
  const endpoint = endpoints.find((e) => e.url === receiver.url(path));
  expect(endpoint?.description).toBe(description);
  return { path, id: endpoint!.id, secret };
}

const endpointRow = (path: string) => c.page.getByRole('table', { name: 'Webhook endpoints', exact: true }).getByRole('row').filter({ hasText: path });

/** Waits until the receiver has had `count` requests on `path`, each signed with `secret`. */
async function received(path: string, count: number, secret: string): Promise<ReceivedWebhook[]> {
  const hits = await eventually(async () => {
    const got = receiver.received(path);
    // An error the console shows explains a missing delivery better than a count.
    const alerts = await c.page.getByRole('alert').allTextContents();
    expect(got.length, `requests to ${path}; alerts shown: ${JSON.stringify(alerts)}`).toBeGreaterThanOrEqual(count);
    return got;
  });
  for (const hit of hits) expect(verifyStandardWebhook(secret, hit.headers as SignedHeaders, hit.body)).toBe(true);
  return hits;
}

describeBrowser('console webhooks', { timeout: 90_000 }, () => {
  it('creates an endpoint, shows a delivery in its log, and redelivers it', async () => {
    const { page } = c;
    await c.signIn((await c.token('console-webhooks', ['rooms'])).token);
    const { path, id, secret } = await createEndpointInUi('deliveries test');
    await endpointRow(path).filter({ hasText: 'deliveries test' }).filter({ hasText: 'Enabled' }).waitFor();
    await c.shot('webhooks');
    await expectNoSeriousAxeViolations(page, 'the Webhooks page');

    const { room } = await c.t.client.rooms.createRoom({}, { token: c.root });
    const [first] = await received(path, 1, secret);
    const event = eventOf(first!);
    expect([event.type, event.roomId]).toEqual(['EVENT_TYPE_ROOM_CREATED', room!.id]);

    await endpointRow(path).getByRole('link', { name: 'Deliveries', exact: true }).click();
    await c.heading('Deliveries').waitFor();
    expect(page.url()).toContain(`#/webhooks/${id}`);
    const row = page.getByRole('table', { name: 'Deliveries', exact: true }).getByRole('row').filter({ hasText: event.id });
    await eventually(async () => {
      if ((await row.filter({ hasText: /delivered/i }).count()) === 0) {
        await page.getByRole('button', { name: 'Refresh', exact: true }).click();
        throw new Error('the delivery is not shown as delivered yet');
      }
    });
    // Columns: Event ID, Type, State, Attempts, Last status, Last error, Next attempt.
    const cells = await row.getByRole('cell').allTextContents();
    expect(cells.slice(1, 5).map((t) => t.trim())).toEqual(['ROOM_CREATED', expect.stringMatching(/delivered/i), '1', '200']);
    await c.shot('deliveries');
    await expectNoSeriousAxeViolations(page, 'the Deliveries page');

    await row.getByRole('button', { name: 'Redeliver', exact: true }).click();
    const hits = await received(path, 2, secret);
    expect(hits.map((h) => eventOf(h).id)).toEqual([event.id, event.id]);
    expect(hits[1]!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
  });

  it('sends a test event from the UI', async () => {
    await c.signIn((await c.token('console-test-event', ['rooms'])).token);
    const { path, secret } = await createEndpointInUi('test event');
    await endpointRow(path).getByRole('button', { name: 'Send test event', exact: true }).click();
    const [hit] = await received(path, 1, secret);
    expect(eventOf(hit!).type).toBe('EVENT_TYPE_WEBHOOK_TEST');
  });

  it('rotates the secret (shown once) and disables and enables an endpoint', async () => {
    const { page } = c;
    await c.signIn((await c.token('console-rotate', ['rooms'])).token);
    const { path, id, secret } = await createEndpointInUi('rotate test');
    await endpointRow(path).getByRole('button', { name: 'Rotate secret', exact: true }).click();
    const secretBox = page.getByLabel('Signing secret', { exact: true });
    await eventually(async () => expect(await secretBox.inputValue()).not.toBe(secret));
    const rotated = await secretBox.inputValue();
    expect(rotated).toMatch(/^whsec_/);
    // The new secret signs the next delivery.
    await c.t.client.rooms.createRoom({}, { token: c.root });
    const [hit] = await received(path, 1, rotated);
    expect(eventOf(hit!).type).toBe('EVENT_TYPE_ROOM_CREATED');

    await endpointRow(path).getByRole('button', { name: 'Disable', exact: true }).click();
    await endpointRow(path).filter({ hasText: 'Disabled' }).waitFor();
    expect((await c.t.client.events.getWebhookEndpoint({ endpointId: id }, { token: c.root })).endpoint?.enabled).toBe(false);
    await endpointRow(path).getByRole('button', { name: 'Enable', exact: true }).click();
    await endpointRow(path).filter({ hasText: 'Enabled' }).waitFor();
    expect((await c.t.client.events.getWebhookEndpoint({ endpointId: id }, { token: c.root })).endpoint?.enabled).toBe(true);
  });
});
