// "Who may call what", over real gRPC: every RPC a peer token may call, each
// permission it needs, and each thing it may not do; plus authentication
// failures and environment isolation for management tokens.
import { Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintManagementToken } from '../../src/domain/management-token.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let admin: string;
let roomId: string;
let otherRoomId: string;
const NONE = { canPublish: false, canSubscribe: false, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false };

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken('sandbox');
  roomId = (await t.client.rooms.createRoom({ maxPeers: 0 }, { token: admin })).room!.id;
  otherRoomId = (await t.client.rooms.createRoom({}, { token: admin })).room!.id;
});
afterAll(() => t?.close());

const issued: string[] = [];

async function peer(permissions: Partial<typeof NONE> = {}, room = roomId) {
  const res = await t.client.peers.createPeer({ roomId: room, permissions: { ...NONE, ...permissions } }, { token: admin });
  issued.push(res.peerToken);
  return { token: res.peerToken, id: res.peer!.id };
}

describe('a peer token may', () => {
  it('GetRoom, GetPeer and ListPeers in its own room', async () => {
    const me = await peer();
    const other = await peer();
    expect((await t.client.rooms.getRoom({ roomId }, { token: me.token })).room!.id).toBe(roomId);
    expect((await t.client.peers.getPeer({ roomId, peerId: other.id }, { token: me.token })).peer!.id).toBe(other.id);
    expect((await t.client.peers.listPeers({ roomId }, { token: me.token })).peers.map((p) => p.id)).toContain(other.id);
  });

  it('UpdatePeerMetadata for itself only with can_update_metadata', async () => {
    const without = await peer();
    await expectStatus(
      t.client.peers.updatePeerMetadata({ roomId, peerId: without.id, clientMetadata: '{}' }, { token: without.token }),
      status.PERMISSION_DENIED,
      /can_update_metadata/,
    );
    const me = await peer({ canUpdateMetadata: true });
    const res = await t.client.peers.updatePeerMetadata({ roomId, peerId: me.id, clientMetadata: '{"hand":"up"}' }, { token: me.token });
    expect(res.peer!.clientMetadata).toBe('{"hand":"up"}');
    const other = await peer();
    await expectStatus(
      t.client.peers.updatePeerMetadata({ roomId, peerId: other.id, clientMetadata: '{}' }, { token: me.token }),
      status.PERMISSION_DENIED,
      /only its own/,
    );
  });

  it('UpdateRoom metadata only, with can_update_room', async () => {
    const without = await peer();
    await expectStatus(t.client.rooms.updateRoom({ roomId, metadata: '{}' }, { token: without.token }), status.PERMISSION_DENIED, /can_update_room/);
    const me = await peer({ canUpdateRoom: true });
    expect((await t.client.rooms.updateRoom({ roomId, metadata: '{"title":"x"}' }, { token: me.token })).room!.metadata).toBe('{"title":"x"}');
    await expectStatus(t.client.rooms.updateRoom({ roomId, maxPeers: 1 }, { token: me.token }), status.PERMISSION_DENIED, /max_peers/);
    await expectStatus(t.client.rooms.updateRoom({ roomId: otherRoomId, metadata: '{}' }, { token: me.token }), status.PERMISSION_DENIED, /own room/);
  });

  it('DeletePeer of another peer in its room, with can_remove_participants', async () => {
    const victim = await peer();
    const without = await peer();
    await expectStatus(t.client.peers.deletePeer({ roomId, peerId: victim.id }, { token: without.token }), status.PERMISSION_DENIED, /can_remove_participants/);
    const moderator = await peer({ canRemoveParticipants: true });
    await t.client.peers.deletePeer({ roomId, peerId: victim.id }, { token: moderator.token });
    await expectStatus(t.client.peers.getPeer({ roomId, peerId: victim.id }, { token: admin }), status.NOT_FOUND);
    const elsewhere = await peer({}, otherRoomId);
    await expectStatus(t.client.peers.deletePeer({ roomId: otherRoomId, peerId: elsewhere.id }, { token: moderator.token }), status.PERMISSION_DENIED, /own room/);
  });

  it('RefreshPeerToken', async () => {
    const me = await peer();
    expect((await t.client.tokens.refreshPeerToken({}, { token: me.token })).peerToken).toMatch(/^eyJ/);
  });
});

describe('a peer token may not', () => {
  it('create, list or delete rooms, create peers, verify tokens, or touch another room', async () => {
    const all = await peer({ canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true });
    const as = { token: all.token };
    const denied = status.PERMISSION_DENIED;
    await expectStatus(t.client.rooms.createRoom({}, as), denied, /management token/);
    await expectStatus(t.client.rooms.listRooms({}, as), denied);
    await expectStatus(t.client.rooms.deleteRoom({ roomId }, as), denied);
    await expectStatus(t.client.peers.createPeer({ roomId }, as), denied);
    await expectStatus(t.client.tokens.verifyPeerToken({ token: all.token }, as), denied);
    await expectStatus(t.client.rooms.getRoom({ roomId: otherRoomId }, as), denied, /own room/);
    await expectStatus(t.client.peers.listPeers({ roomId: otherRoomId }, as), denied);
    const elsewhere = await peer({}, otherRoomId);
    await expectStatus(t.client.peers.getPeer({ roomId: otherRoomId, peerId: elsewhere.id }, as), denied);
    const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM rooms');
    expect(rows[0].n).toBe(2);
  });
});

describe('authentication', () => {
  const unauth = status.UNAUTHENTICATED;

  it('requires a bearer token on every RPC but GetJwks', async () => {
    const noToken = { token: undefined };
    await expectStatus(t.client.rooms.getRoom({ roomId }, noToken), unauth, /missing credentials/);
    await expectStatus(t.client.peers.listPeers({ roomId }, noToken), unauth);
    await expectStatus(t.client.tokens.verifyPeerToken({ token: 'x' }, noToken), unauth);
    expect((await t.client.tokens.getJwks({}, noToken)).jwksJson).toContain('Ed25519');
  });

  it('gives one indistinct message for unknown, mistyped, forged and revoked credentials', async () => {
    const unknown = mintManagementToken('sandbox').token;
    const typo = admin.slice(0, -1) + (admin.endsWith('a') ? 'b' : 'a');
    const p = await peer();
    await t.client.peers.deletePeer({ roomId, peerId: p.id }, { token: admin });
    const messages = new Set<string>();
    for (const bad of [unknown, typo, 'rg_live_short', 'eyJhbGciOiJub25lIn0.e30.', p.token, 'x'.repeat(300)]) {
      const err = await expectStatus(t.client.rooms.getRoom({ roomId }, { token: bad }), unauth);
      messages.add(err.details);
    }
    expect([...messages]).toEqual(['invalid, expired or revoked credentials']);
  });

  it('refuses a malformed authorization header and an oversized one before parsing', async () => {
    const md = new Metadata();
    md.set('authorization', `Basic ${Buffer.from('a:b').toString('base64')}`);
    await expectStatus(t.client.rooms.getRoom({ roomId }, { token: undefined, metadata: md }), unauth, /Bearer <token>/);
    await expectStatus(t.client.rooms.getRoom({ roomId }, { token: 'a'.repeat(10_000) }), unauth, /longer than/);
  });
});

describe('environment isolation', () => {
  it('makes another environment\'s rooms and peers NOT_FOUND and invisible to management tokens', async () => {
    const live = await t.managementToken('production');
    const as = { token: live };
    const p = await peer();
    await expectStatus(t.client.rooms.getRoom({ roomId }, as), status.NOT_FOUND);
    await expectStatus(t.client.rooms.updateRoom({ roomId, metadata: '{}' }, as), status.NOT_FOUND);
    await expectStatus(t.client.rooms.deleteRoom({ roomId }, as), status.NOT_FOUND);
    await expectStatus(t.client.peers.createPeer({ roomId }, as), status.NOT_FOUND);
    await expectStatus(t.client.peers.getPeer({ roomId, peerId: p.id }, as), status.NOT_FOUND);
    await expectStatus(t.client.peers.listPeers({ roomId }, as), status.NOT_FOUND);
    await expectStatus(t.client.peers.deletePeer({ roomId, peerId: p.id }, as), status.NOT_FOUND);
    await expectStatus(t.client.peers.updatePeerMetadata({ roomId, peerId: p.id, clientMetadata: '{}' }, as), status.NOT_FOUND);
    expect((await t.client.rooms.listRooms({}, as)).rooms).toEqual([]);
    expect((await t.client.rooms.getRoom({ roomId }, { token: admin })).room!.id).toBe(roomId);
  });
});

describe('logs', () => {
  it('record every RPC but never a token', async () => {
    const logs = t.logs.join('');
    expect(logs).toContain('"method":"CreatePeer"');
    expect(logs).toContain('"code":16');
    expect(issued.length).toBeGreaterThan(10);
    for (const secret of [admin, ...issued]) {
      expect(logs).not.toContain(secret);
      // Not even the signature part of a JWT on its own.
      expect(logs).not.toContain(secret.split('.').at(-1));
    }
  });
});
