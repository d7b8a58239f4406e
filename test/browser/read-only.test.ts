// A read-only console: a token with scope read (neither admin nor rooms) sees
// the read-only notice and no write button on any page, and the server still
// refuses what the page forges with its token over gRPC-Web.
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { expectNoSeriousAxeViolations } from '../support/browser-axe.js';
import { describeBrowser, useConsole } from '../support/browser-console.js';
import { joinCodeClient } from '../support/join-codes.js';

// The seeded endpoint points at a closed loopback port: creating it needs these; no delivery has to succeed.
const c = useConsole(import.meta.url, { ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true', ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
const READ_ONLY = 'Read-only: this token cannot make changes';
/** Every write button of the console (docs: the UI contract). */
const WRITE_BUTTONS = [
  'Create room', 'Create', 'Save room', 'Kick', 'Kick and ban', 'Issue token', 'Create endpoint', 'Disable', 'Enable',
  'Rotate secret', 'Send test event', 'Redeliver', 'Create token', 'Revoke', 'Rotate signing key', 'Lift ban',
  'Create role', 'Edit', 'Delete', 'Save role', 'Delete role', 'Create join code', 'Revoke join code', 'Save app URLs',
];

/** The data every page shows to an admin, so that each page has rows where write buttons would be. */
async function seed(): Promise<{ roomId: string; roomName: string; peerId: string; identity: string; banned: string; endpointId: string; role: string; joinCode: string }> {
  const token = { token: c.root };
  const roomName = `ro-${randomBytes(4).toString('hex')}`;
  const { room } = await c.t.client.rooms.createRoom({ name: roomName }, token);
  const identity = `viewer-target-${randomBytes(3).toString('hex')}`;
  const { peer } = await c.t.client.peers.createPeer({ roomId: room!.id, identity }, token);
  const banned = `banned-${randomBytes(3).toString('hex')}`;
  await c.t.client.bans.createBan({ identity: banned, roomId: room!.id, reason: 'seeded' }, token);
  const { endpoint } = await c.t.client.events.createWebhookEndpoint({ url: 'http://127.0.0.1:9/roomgate' }, token);
  const role = `ro-role-${randomBytes(3).toString('hex')}`;
  await c.t.client.roles.createRole({ name: role, permissions: { canSubscribe: true } }, token);
  const joinCode = `ro-code-${randomBytes(3).toString('hex')}`;
  const codes = joinCodeClient(c.t.address);
  await codes.create({ roomId: room!.id, role, expireTime: new Date(Date.now() + 3_600_000), description: joinCode }, c.root).finally(() => codes.close());
  return { roomId: room!.id, roomName, peerId: peer!.id, identity, banned, endpointId: endpoint!.id, role, joinCode };
}

/**
 * Calls `method` over gRPC-Web from inside the page with the console's own
 * token (from sessionStorage), as a user who edits the page could, and
 * returns the gRPC status (from the headers or the trailer frame).
 */
async function forge(method: string, body: number[]): Promise<{ code: string | null; message: string }> {
  return (await c.page.evaluate(`(async () => {
    const token = sessionStorage.getItem('roomgate.console.token');
    const message = new Uint8Array(${JSON.stringify(body)});
    const frame = new Uint8Array(5 + message.length);
    new DataView(frame.buffer).setUint32(1, message.length);
    frame.set(message, 5);
    const res = await fetch('/${method}', {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', authorization: 'Bearer ' + token },
      body: frame,
    });
    const buf = new Uint8Array(await res.arrayBuffer());
    let trailers = '';
    for (let i = 0; i + 5 <= buf.length; ) {
      const len = new DataView(buf.buffer, i + 1, 4).getUint32(0);
      if (buf[i] & 0x80) trailers += new TextDecoder().decode(buf.slice(i + 5, i + 5 + len));
      i += 5 + len;
    }
    const fromTrailer = (name) => (trailers.match(new RegExp('^' + name + ':\\\\s*(.*?)\\\\s*$', 'mi')) || [])[1] ?? null;
    return {
      code: res.headers.get('grpc-status') ?? fromTrailer('grpc-status'),
      message: decodeURIComponent(res.headers.get('grpc-message') ?? fromTrailer('grpc-message') ?? ''),
    };
  })()`)) as { code: string | null; message: string };
}

/** A protobuf message of string fields 1, 2, … (what DeletePeerRequest's room_id and peer_id are). */
function strings(...values: string[]): number[] {
  return values.flatMap((v, i) => {
    const bytes = [...Buffer.from(v, 'utf8')];
    return [((i + 1) << 3) | 2, bytes.length, ...bytes];
  });
}

describeBrowser('read-only console', { timeout: 90_000 }, () => {
  it('shows no write button on any page, with the read-only notice', async () => {
    const { page } = c;
    const data = await seed();
    await c.signIn((await c.token('console-viewer', ['read'])).token);
    expect((await page.getByLabel('Scopes', { exact: true }).textContent())?.trim()).toBe('read');
    const pages: { route: string; heading: string; ready: () => Promise<unknown> }[] = [
      { route: '#/rooms', heading: 'Rooms', ready: () => page.getByRole('row').filter({ hasText: data.roomName }).waitFor() },
      { route: `#/rooms/${data.roomId}`, heading: data.roomName, ready: () => page.getByRole('row').filter({ hasText: data.identity }).waitFor() },
      { route: '#/roles', heading: 'Roles', ready: () => page.getByRole('row').filter({ hasText: data.role }).waitFor() },
      { route: '#/join-codes', heading: 'Join codes', ready: () => page.getByRole('row').filter({ hasText: data.joinCode }).waitFor() },
      { route: '#/events', heading: 'Events', ready: () => page.getByRole('table', { name: 'Events', exact: true }).waitFor() },
      { route: '#/webhooks', heading: 'Webhooks', ready: () => page.getByRole('table', { name: 'Webhook endpoints' }).or(page.getByRole('alert')).first().waitFor() },
      { route: `#/webhooks/${data.endpointId}`, heading: 'Deliveries', ready: () => page.getByRole('table', { name: 'Deliveries' }).or(page.getByRole('alert')).first().waitFor() },
      { route: '#/tokens', heading: 'Management tokens', ready: () => page.getByText(/PERMISSION_DENIED|needs scope admin/).first().waitFor() },
      { route: '#/keys', heading: 'Signing keys', ready: () => page.getByText(/PERMISSION_DENIED|needs scope admin/).first().waitFor() },
      { route: '#/bans', heading: 'Bans', ready: () => page.getByRole('row').filter({ hasText: data.banned }).waitFor() },
      { route: '#/audit', heading: 'Audit log', ready: () => page.getByRole('table', { name: 'Audit log' }).or(page.getByRole('alert')).first().waitFor() },
    ];
    for (const p of pages) {
      await c.go(p.route);
      await c.heading(p.heading).waitFor();
      await p.ready();
      await page.getByText(READ_ONLY, { exact: true }).waitFor();
      // Bans is readable with scope read: no alert may stay from the pages before it, which were refused.
      if (p.route === '#/bans') expect(await page.getByRole('alert').allTextContents()).toEqual([]);
      const shown: string[] = [];
      for (const name of WRITE_BUTTONS) if ((await page.getByRole('button', { name, exact: true }).count()) > 0) shown.push(name);
      expect(shown, `write buttons on ${p.route}`).toEqual([]);
      await c.shot(`read-only-${p.heading.replace(/\W+/g, '-')}`);
      await expectNoSeriousAxeViolations(page, `the read-only ${p.route} page`);
    }
  });

  it('gets PERMISSION_DENIED for writes it forges over gRPC-Web, and nothing changes', async () => {
    const data = await seed();
    await c.signIn((await c.token('console-forger', ['read'])).token);
    await c.go(`#/rooms/${data.roomId}`);
    await c.page.getByRole('row').filter({ hasText: data.identity }).waitFor();
    const roomsBefore = (await c.t.client.rooms.listRooms({ pageSize: 100 }, { token: c.root })).rooms.length;

    const create = await forge('roomgate.v1.RoomService/CreateRoom', []);
    expect(create.code, create.message).toBe('7');
    expect(create.message).not.toBe('');
    const kick = await forge('roomgate.v1.PeerService/DeletePeer', strings(data.roomId, data.peerId));
    expect(kick.code, kick.message).toBe('7');

    expect((await c.t.client.rooms.listRooms({ pageSize: 100 }, { token: c.root })).rooms.length).toBe(roomsBefore);
    const { peer } = await c.t.client.peers.getPeer({ roomId: data.roomId, peerId: data.peerId }, { token: c.root });
    expect(peer?.id).toBe(data.peerId);
    // The same forged call with an admin token succeeds, so the refusal above is the scope's doing.
    await c.page.evaluate(`sessionStorage.setItem('roomgate.console.token', ${JSON.stringify(c.root)})`);
    expect((await forge('roomgate.v1.RoomService/CreateRoom', [])).code).toBe('0');
  });
});
