import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Environment } from '../../src/client/index.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let token: string;
const MISSING = '00000000-0000-4000-8000-00000000dead';

beforeAll(async () => {
  t = await startTestRoomgate();
  token = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

describe('CreateRoom', () => {
  it('creates a room with a server-assigned id and defaults', async () => {
    const before = Date.now();
    const { room } = await t.client.rooms.createRoom({ name: 'standup', maxPeers: 5, metadata: '{"topic":"daily"}' }, { token });
    expect(room).toMatchObject({
      name: 'standup',
      maxPeers: 5,
      metadata: '{"topic":"daily"}',
      peerCount: 0,
      environment: Environment.ENVIRONMENT_SANDBOX,
    });
    expect(room?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(room?.createTime?.getTime()).toBeGreaterThanOrEqual(before - 1000);
    const unnamed = await t.client.rooms.createRoom({}, { token });
    expect(unnamed.room).toMatchObject({ name: '', maxPeers: 0, metadata: '{}' });
  });

  it('refuses a duplicate name in the same environment with ALREADY_EXISTS', async () => {
    await t.client.rooms.createRoom({ name: 'dupe' }, { token });
    await expectStatus(t.client.rooms.createRoom({ name: 'dupe' }, { token }), status.ALREADY_EXISTS, /name already exists/);
  });

  it('allows the same name in another environment', async () => {
    const live = await t.managementToken('production');
    await t.client.rooms.createRoom({ name: 'shared-name' }, { token });
    const { room } = await t.client.rooms.createRoom({ name: 'shared-name' }, { token: live });
    expect(room?.environment).toBe(Environment.ENVIRONMENT_PRODUCTION);
  });

  it('validates name and metadata with INVALID_ARGUMENT naming the field', async () => {
    await expectStatus(t.client.rooms.createRoom({ name: 'no spaces' }, { token }), status.INVALID_ARGUMENT, /^name:/);
    await expectStatus(t.client.rooms.createRoom({ name: 'x'.repeat(65) }, { token }), status.INVALID_ARGUMENT, /^name:/);
    await expectStatus(t.client.rooms.createRoom({ metadata: '{oops' }, { token }), status.INVALID_ARGUMENT, /^metadata: must be valid JSON/);
    await expectStatus(
      t.client.rooms.createRoom({ metadata: JSON.stringify('x'.repeat(5000)) }, { token }),
      status.INVALID_ARGUMENT,
      /^metadata: is \d+ bytes/,
    );
    await expectStatus(t.client.rooms.createRoom({ requestId: 'with space' }, { token }), status.INVALID_ARGUMENT, /^request_id:/);
  });

  it('returns the first result for a repeated request_id, and refuses it with other parameters', async () => {
    const first = await t.client.rooms.createRoom({ name: 'idem', requestId: 'req-1' }, { token });
    const again = await t.client.rooms.createRoom({ name: 'idem', requestId: 'req-1' }, { token });
    expect(again).toEqual(first);
    await expectStatus(
      t.client.rooms.createRoom({ name: 'idem-2', requestId: 'req-1' }, { token }),
      status.INVALID_ARGUMENT,
      /request_id: was already used with different parameters/,
    );
    const { rows } = await t.db.pool.query("SELECT count(*)::int AS n FROM rooms WHERE name LIKE 'idem%'");
    expect(rows[0].n).toBe(1);
  });
});

describe('GetRoom', () => {
  it('returns the room with its peer_count', async () => {
    const { room } = await t.client.rooms.createRoom({ maxPeers: 3 }, { token });
    await t.client.peers.createPeer({ roomId: room!.id, identity: 'a' }, { token });
    await t.client.peers.createPeer({ roomId: room!.id, identity: 'b' }, { token });
    const got = await t.client.rooms.getRoom({ roomId: room!.id }, { token });
    expect(got.room).toMatchObject({ id: room!.id, peerCount: 2, maxPeers: 3 });
  });

  it('gives NOT_FOUND for an unknown room and INVALID_ARGUMENT for a malformed id', async () => {
    await expectStatus(t.client.rooms.getRoom({ roomId: MISSING }, { token }), status.NOT_FOUND, /room not found/);
    await expectStatus(t.client.rooms.getRoom({ roomId: 'nope' }, { token }), status.INVALID_ARGUMENT, /^room_id: must be a UUID/);
    await expectStatus(t.client.rooms.getRoom({}, { token }), status.INVALID_ARGUMENT, /^room_id: is required/);
  });
});

describe('ListRooms', () => {
  it('pages through every room once, oldest first, stable under concurrent inserts', async () => {
    const own = await t.managementToken('production');
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await t.client.rooms.createRoom({ name: `page-${i}` }, { token: own })).room!.id);
    const seen: string[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const page = await t.client.rooms.listRooms({ pageSize: 3, pageToken }, { token: own });
      seen.push(...page.rooms.map((r) => r.id));
      pageToken = page.nextPageToken;
      // A room inserted mid-listing lands after the cursor and is not lost.
      if (pages++ === 0) created.push((await t.client.rooms.createRoom({ name: 'late' }, { token: own })).room!.id);
    } while (pageToken);
    // Every room of this test exactly once, in creation order, the late one included.
    expect(seen.filter((id) => created.includes(id))).toEqual(created);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('validates page_size and page_token', async () => {
    await expectStatus(t.client.rooms.listRooms({ pageSize: 101 }, { token }), status.INVALID_ARGUMENT, /^page_size:/);
    await expectStatus(t.client.rooms.listRooms({ pageToken: 'garbage' }, { token }), status.INVALID_ARGUMENT, /^page_token:/);
  });
});

describe('UpdateRoom', () => {
  it('changes only the fields that are set', async () => {
    const { room } = await t.client.rooms.createRoom({ maxPeers: 2, metadata: '{"a":1}' }, { token });
    const m = await t.client.rooms.updateRoom({ roomId: room!.id, metadata: '{"a":2}' }, { token });
    expect(m.room).toMatchObject({ metadata: '{"a":2}', maxPeers: 2 });
    const p = await t.client.rooms.updateRoom({ roomId: room!.id, maxPeers: 0 }, { token });
    expect(p.room).toMatchObject({ metadata: '{"a":2}', maxPeers: 0 });
    expect(p.room!.updateTime!.getTime()).toBeGreaterThanOrEqual(room!.updateTime!.getTime());
  });

  it('gives INVALID_ARGUMENT with nothing to update or bad metadata, NOT_FOUND for an unknown room', async () => {
    const { room } = await t.client.rooms.createRoom({}, { token });
    await expectStatus(t.client.rooms.updateRoom({ roomId: room!.id }, { token }), status.INVALID_ARGUMENT, /nothing to update/);
    await expectStatus(t.client.rooms.updateRoom({ roomId: room!.id, metadata: '[' }, { token }), status.INVALID_ARGUMENT, /^metadata:/);
    await expectStatus(t.client.rooms.updateRoom({ roomId: MISSING, metadata: '{}' }, { token }), status.NOT_FOUND);
  });
});

describe('DeleteRoom', () => {
  it('deletes the room and its peers, whose tokens stop verifying at once', async () => {
    const { room } = await t.client.rooms.createRoom({}, { token });
    const a = await t.client.peers.createPeer({ roomId: room!.id, identity: 'a' }, { token });
    const b = await t.client.peers.createPeer({ roomId: room!.id, identity: 'b' }, { token });
    expect((await t.client.tokens.verifyPeerToken({ token: a.peerToken }, { token })).valid).toBe(true);
    await t.client.rooms.deleteRoom({ roomId: room!.id }, { token });
    for (const p of [a, b]) {
      const v = await t.client.tokens.verifyPeerToken({ token: p.peerToken }, { token });
      expect(v).toMatchObject({ valid: false, reason: 2 /* REVOKED */ });
    }
    await expectStatus(t.client.rooms.getRoom({ roomId: room!.id }, { token }), status.NOT_FOUND);
    const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM peers WHERE room_id = $1', [room!.id]);
    expect(rows[0].n).toBe(0);
    await expectStatus(t.client.rooms.deleteRoom({ roomId: room!.id }, { token }), status.NOT_FOUND);
  });
});
