// The Join codes page in real Chromium against a live roomgate: a code made in
// the UI is shown once, as a join link with Copy and a QR code whose modules
// are the link's QR symbol; redemptions over gRPC show in the Uses column
// without a reload; a code revoked in the UI stops working; and the allowed
// app URLs are editable with scope admin only.
import { randomBytes } from 'node:crypto';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import type { Page } from 'playwright-core';
import QRCode from 'qrcode';
import { afterAll, expect, it } from 'vitest';
import { JoinCodeServiceClient, type GetJoinSettingsResponse } from '../../src/gen/roomgate/v1/join_code_service.js';
import { expectNoSeriousAxeViolations } from '../support/browser-axe.js';
import { describeBrowser, eventually, useConsole } from '../support/browser-console.js';
import { joinCodeClient, type JoinCodeCalls } from '../support/join-codes.js';
import { expectStatus } from '../support/roomgate.js';

const c = useConsole(import.meta.url);
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
let joinCodes: JoinCodeCalls | undefined;
/** A JoinCodeService client of this file's roomgate. */
const codes = () => (joinCodes ??= joinCodeClient(c.t.address));
afterAll(() => joinCodes?.close());

/** A room and a role, made through the API. */
async function roomAndRole(): Promise<{ roomId: string; roomName: string; role: string }> {
  const roomName = unique('party');
  const { room } = await c.t.client.rooms.createRoom({ name: roomName }, { token: c.root });
  const role = unique('guest');
  await c.t.client.roles.createRole({ name: role, permissions: { canPublish: true, canSubscribe: true } }, { token: c.root });
  return { roomId: room!.id, roomName, role };
}

const codesTable = () => c.page.getByRole('table', { name: 'Join codes', exact: true });
const codeRow = (description: string) => codesTable().getByRole('row').filter({ hasText: description });

/** Fills the Create join code form (opened first) and submits it. */
async function createInUi(page: Page, fields: { room: string; role: string; description: string; maxUses?: string; short?: boolean }): Promise<void> {
  await page.getByRole('button', { name: 'Create join code', exact: true }).click();
  const form = page.getByRole('form', { name: 'Create join code', exact: true });
  await form.getByRole('combobox', { name: 'Room', exact: true }).fill(fields.room);
  await form.getByRole('combobox', { name: 'Role', exact: true }).selectOption(fields.role);
  await form.getByRole('spinbutton', { name: 'Expires in (hours)', exact: true }).fill('2');
  await form.getByRole('spinbutton', { name: 'Max uses', exact: true }).fill(fields.maxUses ?? '1');
  if (fields.short) await form.getByRole('radio', { name: 'Short code', exact: true }).check();
  await form.getByRole('textbox', { name: 'Description', exact: true }).fill(fields.description);
  await expectNoSeriousAxeViolations(page, 'the Create join code form');
  await form.getByRole('button', { name: 'Create', exact: true }).click();
}

/** The dark modules the page's QR code draws, as a size × size matrix of 0 and 1 (from its runs of rects). */
async function drawnModules(page: Page): Promise<{ size: number; data: number[] }> {
  const svg = page.getByRole('img', { name: 'QR code for the join link', exact: true });
  const size = Number(await svg.getAttribute('data-size'));
  const runs = await svg.locator('rect.qr-module').evaluateAll((rects) =>
    rects.map((r) => ['x', 'y', 'width', 'height'].map((a) => Number(r.getAttribute(a)))),
  );
  const data = new Array<number>(size * size).fill(0);
  for (const [x, y, width, height] of runs) {
    expect(height).toBe(1);
    for (let col = x!; col < x! + width!; col++) {
      expect(data[y! * size + col], `module ${y},${col} drawn twice`).toBe(0);
      data[y! * size + col] = 1;
    }
  }
  return { size, data };
}

describeBrowser('console join codes', { timeout: 120_000 }, () => {
  it('creates a link code shown once with Copy and its QR code, shows redemptions live, and revokes it', async () => {
    const { page, context } = c;
    const { roomId, roomName, role } = await roomAndRole();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: c.t.httpUrl });
    await c.signIn((await c.token('console-join-codes', ['rooms'])).token);
    await page.getByRole('link', { name: 'Join codes', exact: true }).click();
    await c.heading('Join codes').waitFor();
    const description = unique('launch party');
    // The room by its name: the page finds its ID.
    await createInUi(page, { room: roomName, role, description, maxUses: '3' });

    const linkBox = page.getByRole('textbox', { name: 'Join link', exact: true });
    await linkBox.waitFor();
    expect(await linkBox.getAttribute('readonly')).not.toBeNull();
    const link = await linkBox.inputValue();
    // No ROOMGATE_PUBLIC_URL here: the console's own origin serves the join page.
    expect(link).toMatch(new RegExp(`^${c.t.httpUrl.replace(/\./g, '\\.')}/join/rgj_[A-Za-z0-9_-]{22,}$`));
    const code = decodeURIComponent(link.slice(link.lastIndexOf('/') + 1));
    await page.getByText(/shown only now/).waitFor();
    expect(await page.getByRole('textbox', { name: 'Short code', exact: true }).count()).toBe(0);

    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByText('Copied', { exact: true }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(link);

    // The QR code is the link's symbol, module for module.
    const expected = QRCode.create(link, { errorCorrectionLevel: 'M' }).modules;
    const drawn = await drawnModules(page);
    expect(drawn.size).toBe(expected.size);
    expect(drawn.data).toEqual(Array.from(expected.data, (v) => (v ? 1 : 0)));
    expect(drawn.data.filter((v) => v === 1).length).toBeGreaterThan(expected.size * 4);
    expect(await page.getByRole('alert').allTextContents(), 'alerts on the page').toEqual([]);
    expect(await c.watch.cspViolations(), 'the QR code is drawn within the CSP').toEqual([]);
    await c.shot('join-code-created');
    await expectNoSeriousAxeViolations(page, 'the Join codes page with a new code');

    const row = codeRow(description);
    await row.waitFor();
    const cells = async () => (await row.getByRole('cell').allTextContents()).slice(0, 5);
    expect(await cells()).toEqual([roomId, role, 'Link', code.slice(-4), '0 / 3']);
    await row.filter({ hasText: 'Active' }).waitFor();

    // A redemption over gRPC (no bearer token: the code is the credential) shows without a reload.
    const redeemed = await codes().redeem({ code, displayName: 'Ann' });
    expect(redeemed.peer?.roomId).toBe(roomId);
    await eventually(async () => expect(await cells()).toEqual([roomId, role, 'Link', code.slice(-4), '1 / 3']));

    // Shown once: after a reload the code is nowhere on the page, in text or fields.
    await page.reload();
    await row.waitFor();
    const everything = (await page.evaluate(
      "document.body.innerText + ' ' + Array.from(document.querySelectorAll('input, textarea'), (e) => e.value).join(' ')",
    )) as string;
    expect(everything, 'the code is shown once only').not.toContain(code);
    expect(await page.getByRole('img', { name: 'QR code for the join link' }).count()).toBe(0);

    await row.getByRole('button', { name: 'Revoke', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke join code', exact: true });
    await expectNoSeriousAxeViolations(page, 'the Revoke join code dialog');
    await dialog.getByRole('button', { name: 'Revoke join code', exact: true }).click();
    await row.filter({ hasText: 'Revoked' }).waitFor();
    expect(await row.getByRole('button', { name: 'Revoke', exact: true }).count()).toBe(0);
    await expectStatus(codes().redeem({ code, displayName: 'Bob' }), status.UNAUTHENTICATED);
    expect((await codes().get({ id: (await listed(description)).id }, c.root)).joinCode?.revoked).toBe(true);
  });

  it('creates a short code shown as abc-defg-hij that works once, then shows Used up', async () => {
    const { page } = c;
    const { roomId, role } = await roomAndRole();
    await c.signIn((await c.token('console-short-codes', ['rooms'])).token);
    await c.go('#/join-codes');
    await c.heading('Join codes').waitFor();
    const description = unique('front desk');
    await createInUi(page, { room: roomId, role, description, short: true });

    const shortBox = page.getByRole('textbox', { name: 'Short code', exact: true });
    await shortBox.waitFor();
    const code = await shortBox.inputValue();
    expect(code).toMatch(/^[a-z0-9]{3}-[a-z0-9]{4}-[a-z0-9]{3}$/);
    expect(await page.getByRole('textbox', { name: 'Join link', exact: true }).inputValue()).toBe(`${c.t.httpUrl}/join/${code}`);
    await page.getByRole('button', { name: 'Copy short code', exact: true }).waitFor();
    // The link the console made is one the join page takes (opening it uses nothing).
    const joinPage = await c.context.newPage();
    await joinPage.goto(`${c.t.httpUrl}/join/${code}`);
    await joinPage.getByRole('heading', { name: 'Join the room', exact: true }).waitFor();
    await joinPage.getByLabel('Your name', { exact: true }).waitFor();
    await joinPage.close();
    const row = codeRow(description);
    await row.filter({ hasText: 'Short code' }).filter({ hasText: '0 / 1' }).waitFor();

    // Filtered by its room, the table holds this room's codes only.
    await page.getByRole('combobox', { name: 'Filter by room', exact: true }).fill(roomId);
    await page.getByRole('button', { name: 'Apply filter', exact: true }).click();
    await eventually(async () => {
      const rooms = await codesTable().getByRole('row').locator('td:first-child').allTextContents();
      expect(rooms.length).toBeGreaterThan(0);
      expect(rooms.filter((r) => r !== roomId)).toEqual([]);
    });
    await row.waitFor();

    // Typed in capitals without its dashes, as a person might.
    await codes().redeem({ code: code.replace(/-/g, '').toUpperCase(), displayName: 'Cy' });
    await row.filter({ hasText: '1 / 1' }).filter({ hasText: 'Used up' }).waitFor();
    expect(await row.getByRole('button', { name: 'Revoke', exact: true }).count()).toBe(0);
    await c.shot('join-code-short');
  });

  it('saves the allowed app URLs with scope admin, offers them when creating, and shows them read-only to other tokens', async () => {
    const { page } = c;
    const { roomId, role } = await roomAndRole();
    const urls = ['https://app.example.com/join', 'http://localhost:5173/welcome'];
    await c.signIn((await c.token('console-app-urls', ['admin'])).token);
    await c.go('#/join-codes');
    await c.heading('Join codes').waitFor();
    await page.getByRole('textbox', { name: 'App URLs (one per line)', exact: true }).fill(urls.join('\n'));
    await page.getByRole('button', { name: 'Save app URLs', exact: true }).click();
    await page.getByText('Saved.', { exact: true }).waitFor();
    expect(await appUrlsOf()).toEqual(urls);
    await expectNoSeriousAxeViolations(page, 'the Join codes page with app URLs');

    // A code for the second URL.
    const description = unique('beta testers');
    await page.getByRole('button', { name: 'Create join code', exact: true }).click();
    const form = page.getByRole('form', { name: 'Create join code', exact: true });
    await form.getByRole('combobox', { name: 'Room', exact: true }).fill(roomId);
    await form.getByRole('combobox', { name: 'Role', exact: true }).selectOption(role);
    await form.getByRole('combobox', { name: 'App URL', exact: true }).selectOption(urls[1]!);
    await form.getByRole('textbox', { name: 'Description', exact: true }).fill(description);
    await form.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('textbox', { name: 'Join link', exact: true }).waitFor();
    expect((await listed(description)).appUrl).toBe(urls[1]);

    // A rooms token sees them, and cannot change them.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await c.signIn((await c.token('console-app-urls-viewer', ['rooms'])).token);
    await c.go('#/join-codes');
    const list = page.getByRole('list', { name: 'Allowed app URLs', exact: true });
    await list.waitFor();
    expect(await list.getByRole('listitem').allTextContents()).toEqual(urls);
    expect(await page.getByRole('button', { name: 'Save app URLs', exact: true }).count()).toBe(0);
    expect(await page.getByRole('textbox', { name: 'App URLs (one per line)', exact: true }).count()).toBe(0);
  });
});

/** The environment's allowed app URLs, from GetJoinSettings over gRPC. */
async function appUrlsOf(): Promise<string[]> {
  const client = new JoinCodeServiceClient(c.t.address, credentials.createInsecure());
  const md = new Metadata();
  md.set('authorization', `Bearer ${c.root}`);
  try {
    const res = await new Promise<GetJoinSettingsResponse>((resolve, reject) =>
      client.getJoinSettings({}, md, (err, got) => (err ? reject(err) : resolve(got))),
    );
    return res.settings?.appUrls ?? [];
  } finally {
    client.close();
  }
}

/** The listed join code with this description. */
async function listed(description: string) {
  const { joinCodes: listedCodes } = await codes().list({ pageSize: 100 }, c.root);
  const found = listedCodes.find((j) => j.description === description);
  if (!found) throw new Error(`no join code described ${description}`);
  return found;
}
