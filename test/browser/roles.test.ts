// The Roles page in real Chromium against a live roomgate: a role made and
// edited in the UI is what RoleService returns; an edit reaches a peer made
// with the role only when "Apply to existing peers" is checked; a role that a
// join code still uses cannot be deleted, and the dialog says why.
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, expect, it } from 'vitest';
import { expectNoSeriousAxeViolations } from '../support/browser-axe.js';
import { describeBrowser, useConsole } from '../support/browser-console.js';
import { joinCodeClient, type JoinCodeCalls } from '../support/join-codes.js';
import { expectStatus } from '../support/roomgate.js';

const c = useConsole(import.meta.url);
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
const HOUR_MS = 3_600_000;
let joinCodes: JoinCodeCalls | undefined;
/** A JoinCodeService client of this file's roomgate. */
const codes = () => (joinCodes ??= joinCodeClient(c.t.address));
afterAll(() => joinCodes?.close());

const rolesTable = () => c.page.getByRole('table', { name: 'Roles', exact: true });
const roleRow = (name: string) => rolesTable().getByRole('row').filter({ has: c.page.getByRole('cell', { name, exact: true }) });

/** The role's five permissions through the API, in proto order. */
async function apiPermissions(peer: { roomId: string; peerId: string }): Promise<boolean[]> {
  const { peer: got } = await c.t.client.peers.getPeer(peer, { token: c.root });
  const p = got!.permissions!;
  return [p.canPublish, p.canSubscribe, p.canUpdateMetadata, p.canUpdateRoom, p.canRemoveParticipants];
}

describeBrowser('console roles', { timeout: 120_000 }, () => {
  it('creates a role, edits it without and then with "Apply to existing peers", and deletes it', async () => {
    const { page } = c;
    await c.signIn((await c.token('console-roles', ['rooms'])).token);
    await page.getByRole('link', { name: 'Roles', exact: true }).click();
    await c.heading('Roles').waitFor();
    const name = unique('speaker');

    await page.getByRole('button', { name: 'Create role', exact: true }).click();
    const form = page.getByRole('form', { name: 'Create role', exact: true });
    await form.getByLabel('Role name', { exact: true }).fill(name);
    await form.getByRole('checkbox', { name: 'Can publish', exact: true }).check();
    await form.getByRole('checkbox', { name: 'Can subscribe', exact: true }).uncheck();
    await form.getByRole('checkbox', { name: 'Can remove participants', exact: true }).check();
    await form.getByRole('spinbutton', { name: 'Token TTL (seconds)', exact: true }).fill('600');
    await form.getByRole('textbox', { name: 'Default metadata', exact: true }).fill('{"tier":"gold"}');
    await form.getByRole('textbox', { name: 'Description', exact: true }).fill('people on stage');
    await expectNoSeriousAxeViolations(page, 'the Create role form');
    await form.getByRole('button', { name: 'Create', exact: true }).click();
    const row = roleRow(name);
    await row.waitFor();
    expect((await row.getByRole('cell').allTextContents()).slice(0, 8)).toEqual([name, 'Yes', 'No', 'No', 'No', 'Yes', '600 s', '{"tier":"gold"}']);

    const { role } = await c.t.client.roles.getRole({ name }, { token: c.root });
    expect(role).toMatchObject({
      name,
      permissions: { canPublish: true, canSubscribe: false, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: true },
      tokenTtlSeconds: 600,
      description: 'people on stage',
    });
    expect(JSON.parse(role!.metadata)).toEqual({ tier: 'gold' });
    expect(await page.getByRole('alert').allTextContents(), 'alerts on the page').toEqual([]);
    await c.shot('roles');
    await expectNoSeriousAxeViolations(page, 'the Roles page');

    // A peer made with the role, through the API, before the edits.
    const { room } = await c.t.client.rooms.createRoom({ name: unique('stage') }, { token: c.root });
    const { peer } = await c.t.client.peers.createPeer({ roomId: room!.id, identity: 'alice', role: name }, { token: c.root });
    const target = { roomId: room!.id, peerId: peer!.id };
    expect(await apiPermissions(target)).toEqual([true, false, false, false, true]);

    // Without apply: the role changes, the existing peer keeps what it had.
    await row.getByRole('button', { name: 'Edit', exact: true }).click();
    let dialog = page.getByRole('dialog', { name: 'Edit role', exact: true });
    expect(await dialog.getByRole('spinbutton', { name: 'Token TTL (seconds)', exact: true }).inputValue()).toBe('600');
    expect(await dialog.getByRole('checkbox', { name: 'Apply to existing peers', exact: true }).isChecked()).toBe(false);
    await dialog.getByRole('checkbox', { name: 'Can subscribe', exact: true }).check();
    await expectNoSeriousAxeViolations(page, 'the Edit role dialog');
    await dialog.getByRole('button', { name: 'Save role', exact: true }).click();
    await page.getByText(`Saved role ${name}. Existing peers keep their permissions.`, { exact: true }).waitFor();
    await row.filter({ hasText: 'YesYesNoNoYes' }).waitFor();
    expect((await c.t.client.roles.getRole({ name }, { token: c.root })).role?.permissions?.canSubscribe).toBe(true);
    expect(await apiPermissions(target)).toEqual([true, false, false, false, true]);

    // With apply: the existing peer takes the role's new permissions, and the page says how many peers did.
    await row.getByRole('button', { name: 'Edit', exact: true }).click();
    dialog = page.getByRole('dialog', { name: 'Edit role', exact: true });
    await dialog.getByRole('checkbox', { name: 'Can update metadata', exact: true }).check();
    await dialog.getByRole('checkbox', { name: 'Apply to existing peers', exact: true }).check();
    await dialog.getByRole('button', { name: 'Save role', exact: true }).click();
    await page.getByText(`Saved role ${name}. 1 existing peer took the new permissions.`, { exact: true }).waitFor();
    expect(await apiPermissions(target)).toEqual([true, true, true, false, true]);

    await row.getByRole('button', { name: 'Delete', exact: true }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete role', exact: true });
    await expectNoSeriousAxeViolations(page, 'the Delete role dialog');
    await confirm.getByRole('button', { name: 'Delete role', exact: true }).click();
    await row.waitFor({ state: 'detached' });
    await expectStatus(c.t.client.roles.getRole({ name }, { token: c.root }), status.NOT_FOUND);
    // The role's peer stays, with its permissions.
    expect(await apiPermissions(target)).toEqual([true, true, true, false, true]);
  });

  it('refuses to delete a role a join code uses, with the FAILED_PRECONDITION alert in the dialog', async () => {
    const { page } = c;
    const name = unique('guest');
    await c.t.client.roles.createRole({ name, permissions: { canSubscribe: true } }, { token: c.root });
    const { room } = await c.t.client.rooms.createRoom({ name: unique('lobby') }, { token: c.root });
    const { joinCode } = await codes().create({ roomId: room!.id, role: name, expireTime: new Date(Date.now() + HOUR_MS) }, c.root);

    await c.signIn((await c.token('console-roles-refused', ['rooms'])).token);
    await c.go('#/roles');
    await c.heading('Roles').waitFor();
    const row = roleRow(name);
    await row.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete role', exact: true });
    await dialog.getByRole('button', { name: 'Delete role', exact: true }).click();
    const alert = dialog.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^FAILED_PRECONDITION: /);
    await c.shot('role-delete-refused');
    await expectNoSeriousAxeViolations(page, 'the Delete role dialog with its alert');
    expect((await c.t.client.roles.getRole({ name }, { token: c.root })).role?.name).toBe(name);

    // Once the code is revoked, the same dialog deletes the role.
    await codes().revoke({ id: joinCode!.id }, c.root);
    await dialog.getByRole('button', { name: 'Delete role', exact: true }).click();
    await row.waitFor({ state: 'detached' });
    await expectStatus(c.t.client.roles.getRole({ name }, { token: c.root }), status.NOT_FOUND);
  });
});
