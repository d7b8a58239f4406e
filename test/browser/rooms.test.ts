// Rooms, a room's live peers, kick and kick-and-ban, bans, and the Events
// tail, in real Chromium against a live roomgate. What the UI does is checked
// through the gRPC API; what the API does is expected in the UI without reload.
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { expect, it } from 'vitest';
import { expectNoSeriousAxeViolations } from '../support/browser-axe.js';
import { describeBrowser, eventually, useConsole } from '../support/browser-console.js';
import { expectStatus } from '../support/roomgate.js';

const c = useConsole(import.meta.url);
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

async function apiRoom(name = unique('room')): Promise<{ id: string; name: string }> {
  const { room } = await c.t.client.rooms.createRoom({ name }, { token: c.root });
  return { id: room!.id, name };
}

async function apiPeer(roomId: string, identity: string): Promise<string> {
  const { peer } = await c.t.client.peers.createPeer({ roomId, identity, permissions: { canPublish: true, canSubscribe: true } }, { token: c.root });
  return peer!.id;
}

const peerRow = (identity: string) => c.page.getByRole('table', { name: 'Peers', exact: true }).getByRole('row').filter({ hasText: identity });

describeBrowser('console rooms', { timeout: 90_000 }, () => {
  it('creates a room in the UI, which then exists through the API, and filters by name', async () => {
    const { page } = c;
    await c.signIn((await c.token('console-rooms', ['rooms'])).token);
    await c.go('#/rooms');
    await c.heading('Rooms').waitFor();
    const name = unique('ui-room');
    // Other tests' rooms share this database: filter, so that the new one is on the first page.
    await page.getByLabel('Filter by name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Create room', exact: true }).click();
    await page.getByLabel('Room name', { exact: true }).fill(name);
    await page.getByLabel('Max peers', { exact: true }).fill('5');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const rooms = page.getByRole('table', { name: 'Rooms', exact: true });
    await rooms.getByRole('row').filter({ hasText: name }).waitFor();

    const { rooms: listed } = await c.t.client.rooms.listRooms({ nameFilter: name }, { token: c.root });
    expect(listed.map((r) => [r.name, r.maxPeers])).toEqual([[name, 5]]);

    const other = await apiRoom(unique('other'));
    await page.reload();
    await page.getByLabel('Filter by name', { exact: true }).fill(other.name);
    await rooms.getByRole('row').filter({ hasText: other.name }).waitFor();
    await page.getByLabel('Filter by name', { exact: true }).fill(name);
    await rooms.getByRole('row').filter({ hasText: other.name }).waitFor({ state: 'detached' });
    await rooms.getByRole('row').filter({ hasText: name }).waitFor();
    await expectNoSeriousAxeViolations(page, 'the Rooms page');
  });

  it('pages through rooms with Next page', async () => {
    const { page } = c;
    const prefix = unique('paged');
    const names = Array.from({ length: 26 }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);
    for (const name of names) await apiRoom(name);
    await c.signIn((await c.token('console-paging', ['read'])).token);
    await c.go('#/rooms');
    await page.getByLabel('Filter by name', { exact: true }).fill(prefix);
    const rows = page.getByRole('table', { name: 'Rooms', exact: true }).getByRole('row').filter({ hasText: prefix });
    await eventually(async () => expect(await rows.count()).toBe(25));
    const first = await rows.allTextContents();
    await page.getByRole('button', { name: 'Next page', exact: true }).click();
    await eventually(async () => expect(await rows.count()).toBe(1));
    const seen = [...first, ...(await rows.allTextContents())].map((t) => names.find((n) => t.includes(n)));
    expect(new Set(seen).size).toBe(26);
    expect(await page.getByRole('button', { name: 'Next page', exact: true }).count()).toBe(0);
  });

  it('shows a peer created by the API live, with the live count, and kicks it', async () => {
    const { page } = c;
    const room = await apiRoom();
    await c.signIn((await c.token('console-kick', ['rooms'])).token);
    await c.go('#/rooms');
    // Other tests' rooms share this database: filter, so that this one is on the first page.
    await page.getByLabel('Filter by name', { exact: true }).fill(room.name);
    const roomRow = page.getByRole('table', { name: 'Rooms', exact: true }).getByRole('row').filter({ hasText: room.name });
    await roomRow.waitFor();
    // Columns: Name, Room ID, Peers, Created.
    const peersCell = roomRow.getByRole('cell').nth(2);
    expect((await peersCell.textContent())?.trim()).toBe('0');
    // Each new peer must change the count shown, without reload, to the server's.
    const counted: string[] = [];
    await c.streamUp(async () => {
      counted.push(await apiPeer(room.id, unique('counted')));
      return peersCell.filter({ hasText: new RegExp(`^\\s*${counted.length}\\s*$`) });
    });

    await roomRow.getByRole('link', { name: room.name, exact: true }).click();
    await c.heading(room.name).waitFor();
    const stays = peerRow(counted[0]!);
    await stays.waitFor();
    // The list is read; a peer made now can only come through the stream.
    let peerId = '';
    const shown = await c.streamUp(async () => {
      const identity = unique('alice');
      peerId = await apiPeer(room.id, identity);
      return peerRow(identity);
    });
    expect(await shown.textContent()).toContain(peerId);
    await c.shot('room-with-peers');
    await expectNoSeriousAxeViolations(page, 'a room page with peers');

    await shown.getByRole('button', { name: 'Kick', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Kick peer', exact: true });
    await expectNoSeriousAxeViolations(page, 'the Kick peer dialog');
    await dialog.getByRole('button', { name: 'Kick peer', exact: true }).click();
    await shown.waitFor({ state: 'detached' });
    await expectStatus(c.t.client.peers.getPeer({ roomId: room.id, peerId }, { token: c.root }), status.NOT_FOUND);
    // The other peers stay, and a peer deleted by the API leaves the page as well.
    await stays.waitFor();
    await c.t.client.peers.deletePeer({ roomId: room.id, peerId: counted[0]! }, { token: c.root });
    await stays.waitFor({ state: 'detached' });
  });

  it('kicks and bans, shows the ban on the Bans page, and lifts it', async () => {
    const { page } = c;
    const room = await apiRoom();
    const identity = unique('mallory');
    await apiPeer(room.id, identity);
    await c.signIn((await c.token('console-ban', ['rooms'])).token);
    await c.go(`#/rooms/${room.id}`);
    await peerRow(identity).waitFor();
    // The row leaves on the stream's PEER_DELETED: the stream must be up before the kick.
    await c.streamUp(async () => {
      const probe = unique('probe');
      await apiPeer(room.id, probe);
      return peerRow(probe);
    });
    await peerRow(identity).getByRole('button', { name: 'Kick and ban', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Kick and ban', exact: true });
    await dialog.getByLabel('Ban duration (seconds)', { exact: true }).fill('0');
    await dialog.getByLabel('Reason', { exact: true }).fill('spamming the chat');
    await expectNoSeriousAxeViolations(page, 'the Kick and ban dialog');
    await dialog.getByRole('button', { name: 'Kick and ban', exact: true }).click();
    await peerRow(identity).waitFor({ state: 'detached' });

    const { bans } = await c.t.client.bans.listBans({ identity }, { token: c.root });
    expect(bans.map((b) => [b.identity, b.roomId, b.reason, b.expireTime])).toEqual([[identity, room.id, 'spamming the chat', undefined]]);
    await expectStatus(c.t.client.peers.createPeer({ roomId: room.id, identity }, { token: c.root }), status.FAILED_PRECONDITION);

    await page.getByRole('link', { name: 'Bans', exact: true }).click();
    await c.heading('Bans').waitFor();
    const banRow = page.getByRole('table', { name: 'Bans', exact: true }).getByRole('row').filter({ hasText: identity });
    await banRow.filter({ hasText: 'spamming the chat' }).waitFor();
    await c.shot('bans');
    await expectNoSeriousAxeViolations(page, 'the Bans page');
    await banRow.getByRole('button', { name: 'Lift ban', exact: true }).click();
    await banRow.waitFor({ state: 'detached' });
    expect((await c.t.client.bans.listBans({ identity }, { token: c.root })).bans).toEqual([]);
    await apiPeer(room.id, identity);
  });

  it('saves metadata and max peers, and issues a peer token that verifies', async () => {
    const { page } = c;
    const room = await apiRoom();
    const identity = unique('bob');
    await apiPeer(room.id, identity);
    await c.signIn((await c.token('console-edit', ['rooms'])).token);
    await c.go(`#/rooms/${room.id}`);
    await c.heading(room.name).waitFor();
    await page.getByLabel('Room metadata', { exact: true }).fill('{"topic":"stand-up"}');
    await page.getByLabel('Max peers', { exact: true }).fill('7');
    await page.getByRole('button', { name: 'Save room', exact: true }).click();
    await eventually(async () => {
      const { room: saved } = await c.t.client.rooms.getRoom({ roomId: room.id }, { token: c.root });
      expect([JSON.parse(saved!.metadata), saved!.maxPeers]).toEqual([{ topic: 'stand-up' }, 7]);
    });

    await peerRow(identity).getByRole('button', { name: 'Issue token', exact: true }).click();
    const tokenBox = page.getByLabel('Peer token', { exact: true });
    await tokenBox.waitFor();
    expect(await tokenBox.getAttribute('readonly')).not.toBeNull();
    const jwt = await tokenBox.inputValue();
    await c.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: c.t.httpUrl });
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await eventually(async () => expect(await page.evaluate('navigator.clipboard.readText()')).toBe(jwt));
    expect(jwt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const verified = await c.t.client.tokens.verifyPeerToken({ token: jwt, roomId: room.id }, { token: c.root });
    expect([verified.valid, verified.claims?.identity, verified.claims?.roomId]).toEqual([true, identity, room.id]);
  });

  it('tails events live, newest first', async () => {
    const { page } = c;
    await c.signIn((await c.token('console-events', ['rooms'])).token);
    await page.getByRole('link', { name: 'Events', exact: true }).click();
    await c.heading('Events').waitFor();
    const events = page.getByRole('table', { name: 'Events', exact: true });
    let room = { id: '', name: '' };
    await c.streamUp(async () => {
      room = await apiRoom();
      return events.getByRole('row').filter({ hasText: room.id }).first();
    });
    const later = await apiRoom();
    await events.getByRole('row').filter({ hasText: later.id }).first().waitFor();
    const texts = await events.getByRole('row').allTextContents();
    const newer = texts.findIndex((t) => t.includes(later.id));
    const older = texts.findIndex((t) => t.includes(room.id));
    expect(newer).toBeLessThan(older);
    await c.shot('events');
    await expectNoSeriousAxeViolations(page, 'the Events page');
  });

  it('filters the events tail by type and room, and pauses and resumes it', async () => {
    const { page } = c;
    const room = await apiRoom();
    const other = await apiRoom();
    await c.signIn((await c.token('console-event-filters', ['rooms'])).token);
    await c.go('#/events');
    await c.heading('Events').waitFor();
    await page.getByLabel('Event type', { exact: true }).selectOption({ label: 'PEER_CREATED' });
    await page.getByLabel('Room ID', { exact: true }).fill(room.id);
    const events = page.getByRole('table', { name: 'Events', exact: true });
    // The Room ID filter applies after a debounce, so the first round may run
    // before it; a later round must then pass. In each round the unwanted events
    // commit first: WatchEvents sends in commit order, so once the round's
    // wanted event is shown, a filter that let them through would have shown them.
    const updates = () => events.getByRole('row').filter({ hasText: 'ROOM_UPDATED' }).count();
    await eventually(async () => {
      const updatesBefore = await updates();
      const unwanted = unique('elsewhere');
      await apiPeer(other.id, unwanted);
      await c.t.client.rooms.updateRoom({ roomId: room.id, metadata: JSON.stringify({ unwanted }) }, { token: c.root });
      const wanted = unique('wanted');
      await apiPeer(room.id, wanted);
      await events.getByRole('row').filter({ hasText: wanted }).waitFor({ timeout: 5_000 });
      const rows = (await events.getByRole('row').allTextContents()).slice(1);
      expect(rows.filter((r) => r.includes(unwanted)), rows.join('\n')).toEqual([]);
      expect(await updates(), rows.join('\n')).toBe(updatesBefore);
      expect(rows[0]).toContain('PEER_CREATED');
      expect(rows[0]).toContain(room.id);
    }, 30_000);

    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    // A resume continues after the last cursor seen (docs/console.md), so this shows however soon it is made.
    const after = unique('after-resume');
    await apiPeer(room.id, after);
    await events.getByRole('row').filter({ hasText: after }).waitFor();
  });
});
