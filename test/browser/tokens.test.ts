// Management tokens, signing keys and the audit log in real Chromium: a token
// made in the UI works over gRPC until it is revoked in the UI, and the audit
// log page lists what the console's own token did.
import { status } from '@grpc/grpc-js';
import { expect, it } from 'vitest';
import { expectNoSeriousAxeViolations } from '../support/browser-axe.js';
import { describeBrowser, eventually, useConsole } from '../support/browser-console.js';
import { expectStatus } from '../support/roomgate.js';

const c = useConsole(import.meta.url);

describeBrowser('console management tokens, signing keys and audit log', { timeout: 90_000 }, () => {
  it('creates a token (shown once, working over gRPC) and revokes it (it stops working)', async () => {
    const { page } = c;
    await c.signIn((await c.token('console-tokens', ['admin'])).token);
    await page.getByRole('link', { name: 'Management tokens', exact: true }).click();
    await c.heading('Management tokens').waitFor();
    await page.getByLabel('Token name', { exact: true }).fill('ci-bot');
    await page.getByRole('checkbox', { name: 'rooms', exact: true }).check();
    await page.getByRole('button', { name: 'Create token', exact: true }).click();
    const shown = page.getByLabel('New management token', { exact: true });
    await shown.waitFor();
    expect(await shown.getAttribute('readonly')).not.toBeNull();
    await page.getByRole('button', { name: 'Copy', exact: true }).waitFor();
    const token = await shown.inputValue();
    expect(token.length).toBeGreaterThan(20);

    const { rooms } = await c.t.client.rooms.listRooms({}, { token });
    expect(Array.isArray(rooms)).toBe(true);
    const row = page.getByRole('table', { name: 'Management tokens', exact: true }).getByRole('row').filter({ hasText: 'ci-bot' });
    await row.filter({ hasText: 'Active' }).waitFor();
    // Shown once: nowhere on the page (text or fields) after a reload.
    await page.reload();
    await row.waitFor();
    const everything = (await page.evaluate(
      "document.body.innerText + ' ' + Array.from(document.querySelectorAll('input, textarea'), (e) => e.value).join(' ')",
    )) as string;
    expect(everything, 'the new token is shown once only').not.toContain(token);
    await c.shot('management-tokens');
    await expectNoSeriousAxeViolations(page, 'the Management tokens page');

    await row.getByRole('button', { name: 'Revoke', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke token', exact: true });
    await dialog.getByLabel('Grace period (seconds)', { exact: true }).fill('0');
    await expectNoSeriousAxeViolations(page, 'the Revoke token dialog');
    await dialog.getByRole('button', { name: 'Revoke token', exact: true }).click();
    await row.filter({ hasText: /Revoked/ }).waitFor();
    expect(await row.getByRole('button', { name: 'Revoke', exact: true }).count()).toBe(0);
    await eventually(() => expectStatus(c.t.client.rooms.listRooms({}, { token }), status.UNAUTHENTICATED));
  });

  it('lists the signing keys and rotates them', async () => {
    const { page } = c;
    await c.signIn((await c.token('console-keys', ['admin'])).token);
    const before = (await c.t.client.tokens.listSigningKeys({}, { token: c.root })).signingKeys.length;
    await page.getByRole('link', { name: 'Signing keys', exact: true }).click();
    await c.heading('Signing keys').waitFor();
    const rows = page.getByRole('table', { name: 'Signing keys', exact: true }).getByRole('row');
    // One header row and one row per key.
    await eventually(async () => expect(await rows.count()).toBe(before + 1));
    await page.getByRole('button', { name: 'Rotate signing key', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Rotate signing key', exact: true });
    await expectNoSeriousAxeViolations(page, 'the Rotate signing key dialog');
    await dialog.getByRole('button', { name: 'Rotate', exact: true }).click();
    await eventually(async () => expect(await rows.count()).toBe(before + 2));
    const after = (await c.t.client.tokens.listSigningKeys({}, { token: c.root })).signingKeys;
    expect(after.length).toBe(before + 1);
    for (const key of after) await rows.filter({ hasText: key.kid }).waitFor();
    await c.shot('signing-keys');
    await expectNoSeriousAxeViolations(page, 'the Signing keys page');
  });

  it('lists in the audit log what the console did, with the token name as the actor', async () => {
    const { page } = c;
    const me = await c.token('console-auditor', ['admin']);
    await c.signIn(me.token);
    await c.go('#/rooms');
    await page.getByRole('button', { name: 'Create room', exact: true }).click();
    await page.getByLabel('Room name', { exact: true }).fill('audited-room');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('table', { name: 'Rooms', exact: true }).getByRole('row').filter({ hasText: 'audited-room' }).waitFor();
    const { rooms } = await c.t.client.rooms.listRooms({ nameFilter: 'audited-room' }, { token: c.root });
    const roomId = rooms[0]!.id;

    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await c.heading('Audit log').waitFor();
    const log = page.getByRole('table', { name: 'Audit log', exact: true });
    const created = log.getByRole('row').filter({ hasText: 'CreateRoom' }).filter({ hasText: 'console-auditor' });
    await created.waitFor();
    expect(await created.textContent()).toContain(roomId);
    await c.shot('audit-log');
    await expectNoSeriousAxeViolations(page, 'the Audit log page');

    // Filtering by method leaves only that method's records.
    await page.getByLabel('Method', { exact: true }).fill('roomgate.v1.RoomService/CreateRoom');
    await page.getByRole('button', { name: 'Apply filters', exact: true }).click();
    await eventually(async () => {
      const texts = (await log.getByRole('row').allTextContents()).slice(1);
      expect(texts.length).toBeGreaterThan(0);
      expect(texts.filter((t) => !t.includes('CreateRoom'))).toEqual([]);
    });
    await created.waitFor();
    // And by target: the room's id.
    await page.getByLabel('Method', { exact: true }).fill('');
    await page.getByLabel('Target', { exact: true }).fill(roomId);
    await page.getByRole('button', { name: 'Apply filters', exact: true }).click();
    await eventually(async () => {
      const texts = (await log.getByRole('row').allTextContents()).slice(1);
      expect(texts.length).toBeGreaterThan(0);
      expect(texts.filter((t) => !t.includes(roomId))).toEqual([]);
    });
  });
});
