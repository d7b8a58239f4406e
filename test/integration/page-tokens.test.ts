// Page tokens over real gRPC and Postgres (issue 12, section 3). rooms.seq is
// one sequence for both environments, and page tokens used to be its value in
// base64url: the gap between two sandbox tokens was the number of production
// rooms created in between. Sealed tokens say nothing of it, are bound to the
// environment and the list, and work on every instance sharing the key.
// One database per file, shared by two instances (test/support/roomgate.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { Watch } from '../support/watch.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';

let t: TestRoomgate;
let other: TestRoomgate;
let sandbox: string;
let production: string;

beforeAll(async () => {
  t = await startTestRoomgate();
  other = await startTestRoomgate({}, { sharing: t });
  sandbox = await t.managementToken('sandbox');
  production = await t.managementToken('production');
});
afterAll(async () => {
  await other?.close();
  await t?.close();
});

const createRoom = async (token: string) => (await t.client.rooms.createRoom({}, { token })).room!.id;
const seqOf = async (id: string) => (await t.db.pool.query<{ seq: string }>('SELECT seq FROM rooms WHERE id = $1', [id])).rows[0]!.seq;

describe('page tokens', () => {
  it('of two sandbox pages say nothing of the production rooms created between them', async () => {
    const first = await createRoom(sandbox);
    for (let i = 0; i < 37; i++) await createRoom(production);
    const second = await createRoom(sandbox);
    await createRoom(sandbox);

    const page1 = await t.client.rooms.listRooms({ pageSize: 1 }, { token: sandbox });
    const page2 = await t.client.rooms.listRooms({ pageSize: 1, pageToken: page1.nextPageToken }, { token: sandbox });
    expect([page1.rooms[0]!.id, page2.rooms[0]!.id]).toEqual([first, second]);
    // The sequence values behind them are 38 apart; the tokens carry neither.
    expect(BigInt(await seqOf(second)) - BigInt(await seqOf(first))).toBe(38n);
    for (const [token, id] of [[page1.nextPageToken, first], [page2.nextPageToken, second]] as const) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      // Before, the token was base64url("v1." + seq).
      const seq = await seqOf(id);
      expect(Buffer.from(token, 'base64url').toString('latin1')).not.toContain(`v1.${seq}`);
      expect(token).not.toBe(Buffer.from(`v1.${seq}`).toString('base64url'));
    }
    // Another instance on the same database and key-encryption key takes them.
    const resumed = await other.client.rooms.listRooms({ pageSize: 1, pageToken: page1.nextPageToken }, { token: sandbox });
    expect(resumed.rooms[0]!.id).toBe(second);
  });

  it("refuse a production token in sandbox, and one list's token in another", async () => {
    await createRoom(production);
    await createRoom(production);
    const live = (await t.client.rooms.listRooms({ pageSize: 1 }, { token: production })).nextPageToken;
    expect(live).not.toBe('');
    await expectStatus(t.client.rooms.listRooms({ pageToken: live }, { token: sandbox }), status.INVALID_ARGUMENT, /^page_token: is not a token returned by this list call$/);
    await expectStatus(t.client.tokens.listManagementTokens({ pageToken: live }, { token: production }), status.INVALID_ARGUMENT, /^page_token:/);
    await expectStatus(t.client.events.listWebhookEndpoints({ pageToken: live }, { token: production }), status.INVALID_ARGUMENT, /^page_token:/);
    const roomId = await createRoom(production);
    await expectStatus(t.client.peers.listPeers({ roomId, pageToken: live }, { token: production }), status.INVALID_ARGUMENT, /^page_token:/);
  });

  it("bind a peers token to its room", async () => {
    const [a, b] = [await createRoom(sandbox), await createRoom(sandbox)];
    for (const roomId of [a, a, b]) await t.client.peers.createPeer({ roomId }, { token: sandbox });
    const page = await t.client.peers.listPeers({ roomId: a, pageSize: 1 }, { token: sandbox });
    expect((await t.client.peers.listPeers({ roomId: a, pageToken: page.nextPageToken }, { token: sandbox })).peers).toHaveLength(1);
    await expectStatus(t.client.peers.listPeers({ roomId: b, pageToken: page.nextPageToken }, { token: sandbox }), status.INVALID_ARGUMENT, /^page_token:/);
  });
});

describe('event cursors', () => {
  it("of two sandbox events say nothing of production's writes between them, and are refused in production", async () => {
    const watch = new Watch(t.client.eventStream, {}, sandbox);
    await watch.subscribed;
    const first = await createRoom(sandbox);
    for (let i = 0; i < 20; i++) await createRoom(production);
    const second = await createRoom(sandbox);
    // Events of earlier tests may still arrive first: pick out these two rooms' creations.
    const created = (roomId: string) => watch.events.find((e) => e.roomId === roomId);
    for (let waited = 0; !(created(first) && created(second)) && waited < 10_000; waited += 20) await sleep(20);
    const [a, b] = [created(first), created(second)];
    watch.cancel();
    expect(a && b).toBeTruthy();
    const positions = await t.db.pool.query<{ txid: string; position: string }>(
      'SELECT txid::text AS txid, position::text AS position FROM events WHERE id = ANY($1) ORDER BY position',
      [[a!.id, b!.id]],
    );
    // Twenty production events sit between them in the shared sequence.
    expect(BigInt(positions.rows[1]!.position) - BigInt(positions.rows[0]!.position)).toBe(21n);
    for (const [event, row] of [[a!, positions.rows[0]!], [b!, positions.rows[1]!]] as const) {
      expect(event.cursor).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // Before, the cursor was base64url("ev1." + txid + "." + position).
      expect(Buffer.from(event.cursor, 'base64url').toString('latin1')).not.toContain(`.${row.position}`);
      expect(event.cursor).not.toBe(Buffer.from(`ev1.${row.txid}.${row.position}`).toString('base64url'));
    }
    // The other instance resumes from it; production refuses it.
    const resumed = new Watch(other.client.eventStream, { afterCursor: a!.cursor, roomId: second }, sandbox);
    expect((await resumed.received(1))[0]!.id).toBe(b!.id);
    resumed.cancel();
    const refused = await new Watch(t.client.eventStream, { afterCursor: a!.cursor }, production).ended();
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.details).toMatch(/^after_cursor: is not a cursor returned by this service/);
  });
});

describe('webhook bodies', () => {
  it('carry the sealed cursor WatchEvents gives, not the plain position', async () => {
    // Its own server, with the relay running and loopback receivers allowed.
    const hooks = await startTestRoomgate({ ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true', ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    const receiver = await startWebhookReceiver();
    try {
      const token = await hooks.managementToken('sandbox');
      await hooks.client.events.createWebhookEndpoint({ url: receiver.url('/in') }, { token });
      const roomId = (await hooks.client.rooms.createRoom({}, { token })).room!.id;
      for (let waited = 0; receiver.received('/in').length === 0 && waited < 10_000; waited += 20) await sleep(20);
      const body = JSON.parse(receiver.received('/in')[0]!.body) as { id: string; cursor: string };
      const { rows } = await hooks.db.pool.query<{ txid: string; position: string }>(
        'SELECT txid::text AS txid, position::text AS position FROM events WHERE id = $1',
        [body.id],
      );
      expect(body.cursor).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(body.cursor).not.toBe(Buffer.from(`ev1.${rows[0]!.txid}.${rows[0]!.position}`).toString('base64url'));
      // It is a cursor WatchEvents takes: the next event of the room follows it.
      const watch = new Watch(hooks.client.eventStream, { afterCursor: body.cursor, roomId }, token);
      await hooks.client.rooms.updateRoom({ roomId, metadata: '{"n":1}' }, { token });
      expect((await watch.received(1))[0]!.sequence).toBe('2');
      watch.cancel();
    } finally {
      await receiver.close();
      await hooks.close();
    }
  });
});
