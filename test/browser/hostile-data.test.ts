// Hostile data in real Chromium: markup in every field that can hold it
// (metadata, identities, display names, endpoint descriptions, ban reasons,
// token names, role and join code descriptions, a join code's fixed identity)
// must be shown as text. Room names cannot hold markup
// ([A-Za-z0-9_-]). Each page is checked for the exact string as visible text,
// no dialog, and no element the markup would have made.
import { expect, it } from 'vitest';
import { SCOPES, describeBrowser, useConsole } from '../support/browser-console.js';

// The endpoint points at a closed loopback port: creating it needs these; no delivery has to succeed.
const c = useConsole(import.meta.url, { ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true', ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
const SCRIPT = '<script>alert(1)</script>';
const IMG = '"><img src=x onerror=alert(1)>';

/** No trace of the payloads having become markup, and no dialog. */
async function expectInert(where: string): Promise<void> {
  const { page } = c;
  expect(await page.locator('img[onerror], img[src="x"]').count(), `an <img> made from data on ${where}`).toBe(0);
  const scripts = (await page.evaluate('Array.from(document.scripts, (s) => s.textContent)')) as string[];
  expect(scripts.filter((s) => s.includes('alert(1)')), `a <script> made from data on ${where}`).toEqual([]);
  expect(c.watch.dialogs, `dialogs on ${where}`).toEqual([]);
}

describeBrowser('hostile data in the console', { timeout: 90_000 }, () => {
  it('shows markup in metadata, identities, names, descriptions, reasons and token names as text', async () => {
    const { page } = c;
    const token = { token: c.root };
    const metadata = JSON.stringify({ note: SCRIPT, img: IMG });
    const { room } = await c.t.client.rooms.createRoom({ name: 'hostile-room', metadata }, token);
    const roomId = room!.id;
    await c.t.client.peers.createPeer({ roomId, identity: IMG, name: SCRIPT, metadata }, token);
    await c.t.client.peers.createPeer({ roomId, identity: SCRIPT, name: IMG }, token);
    await c.t.client.bans.createBan({ identity: `${IMG} banned`, roomId, reason: `${SCRIPT} ${IMG}` }, token);
    await c.t.client.events.createWebhookEndpoint({ url: 'http://127.0.0.1:9/hostile', description: `${SCRIPT}${IMG}` }, token);
    await c.t.client.tokens.createManagementToken({ name: IMG, scopes: [SCOPES.rooms] }, token);
    await c.t.client.roles.createRole({ name: 'hostile-role', description: `${SCRIPT}${IMG}`, metadata }, token);
    await c.t.client.joinCodes.createJoinCode(
      { roomId, role: 'hostile-role', expireTime: new Date(Date.now() + 3600_000), identity: `${IMG} invited`, description: `${IMG}${SCRIPT}` },
      token,
    );
    await c.signIn((await c.token('console-hostile', ['admin'])).token);

    // The room page: identities in cells, metadata as JSON text.
    await c.go(`#/rooms/${roomId}`);
    const peers = page.getByRole('table', { name: 'Peers', exact: true });
    await peers.getByRole('cell', { name: IMG, exact: true }).waitFor();
    await peers.getByRole('cell', { name: SCRIPT, exact: true }).waitFor();
    const peersText = (await peers.textContent()) ?? '';
    expect(peersText).toContain(SCRIPT);
    // Metadata is shown as JSON, so IMG's quote is escaped there.
    expect(peersText).toContain(JSON.stringify(IMG).slice(1, -1));
    expect(JSON.parse(await page.getByLabel('Room metadata', { exact: true }).inputValue())).toEqual({ note: SCRIPT, img: IMG });
    await c.shot('hostile-room');
    await expectInert('the room page');

    await c.go('#/bans');
    const bans = page.getByRole('table', { name: 'Bans', exact: true });
    await bans.getByText(`${IMG} banned`, { exact: true }).waitFor();
    await bans.getByText(`${SCRIPT} ${IMG}`, { exact: true }).waitFor();
    await expectInert('the Bans page');

    await c.go('#/webhooks');
    await page.getByRole('table', { name: 'Webhook endpoints', exact: true }).getByText(`${SCRIPT}${IMG}`, { exact: true }).waitFor();
    await expectInert('the Webhooks page');

    await c.go('#/roles');
    await page.getByRole('table', { name: 'Roles', exact: true }).getByText(`${SCRIPT}${IMG}`, { exact: true }).waitFor();
    await expectInert('the Roles page');

    await c.go('#/join-codes');
    // The description cell also names the code's fixed identity.
    const described = page.getByRole('table', { name: 'Join codes', exact: true }).getByRole('cell').filter({ hasText: `${IMG}${SCRIPT}` });
    await described.waitFor();
    expect(await described.textContent()).toContain(`${IMG} invited`);
    await expectInert('the Join codes page');

    await c.go('#/tokens');
    await page.getByRole('table', { name: 'Management tokens', exact: true }).getByText(IMG, { exact: true }).waitFor();
    await expectInert('the Management tokens page');

    // The audit log names the hostile token's creator and targets; the Events tail shows live events as text.
    await c.go('#/events');
    await c.heading('Events').waitFor();
    let tries = 0;
    await c.streamUp(async () => {
      const identity = `${SCRIPT} live ${++tries}`;
      await c.t.client.peers.createPeer({ roomId, identity }, token);
      return page.getByRole('table', { name: 'Events', exact: true }).getByRole('row').filter({ hasText: identity });
    });
    await expectInert('the Events page');
    await c.go('#/audit');
    await page.getByRole('table', { name: 'Audit log', exact: true }).getByRole('row').nth(1).waitFor();
    await expectInert('the Audit log page');

    // Hostile input typed into the UI comes back as text too.
    await c.go('#/rooms');
    await page.getByRole('button', { name: 'Create room', exact: true }).click();
    await page.getByLabel('Room name', { exact: true }).fill(IMG);
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'INVALID_ARGUMENT' });
    await alert.waitFor();
    await expectInert('the Rooms page after a refused name');
  });
});
