import { status } from '@grpc/grpc-js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let token: string;
const MISSING = '00000000-0000-4000-8000-00000000dead';
const ALL = { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true };

beforeAll(async () => {
  t = await startTestRoomgate();
  token = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

const newRoom = async (maxPeers = 0) => (await t.client.rooms.createRoom({ maxPeers }, { token })).room!.id;

describe('CreatePeer', () => {
  it('creates a peer and returns a 24 h peer token carrying its claims', async () => {
    const roomId = await newRoom();
    const before = Math.floor(Date.now() / 1000);
    const res = await t.client.peers.createPeer(
      { roomId, identity: 'user-123', name: 'John Doe', metadata: '{"role":"host"}', permissions: { canPublish: true, canSubscribe: true } },
      { token },
    );
    expect(res.peer).toMatchObject({
      roomId,
      identity: 'user-123',
      name: 'John Doe',
      metadata: '{"role":"host"}',
      clientMetadata: '{}',
      permissions: { canPublish: true, canSubscribe: true, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false },
    });
    const claims = decodeJwt(res.peerToken);
    expect(claims).toMatchObject({ sub: res.peer!.id, room: roomId, aud: 'roomgate:sandbox', iss: 'roomgate', identity: 'user-123' });
    expect(claims.exp! - claims.iat!).toBe(86_400);
    expect(claims.iat).toBeGreaterThanOrEqual(before - 1);
    expect(res.tokenExpireTime!.getTime()).toBe(claims.exp! * 1000);
  });

  it('defaults the identity to the peer id and honours token_ttl_seconds', async () => {
    const roomId = await newRoom();
    const res = await t.client.peers.createPeer({ roomId, tokenTtlSeconds: 60 }, { token });
    expect(res.peer!.identity).toBe(res.peer!.id);
    const claims = decodeJwt(res.peerToken);
    expect(claims.exp! - claims.iat!).toBe(60);
  });

  it('refuses a token_ttl_seconds outside 60-86400', async () => {
    const roomId = await newRoom();
    for (const ttl of [1, 59, 86_401]) {
      await expectStatus(t.client.peers.createPeer({ roomId, tokenTtlSeconds: ttl }, { token }), status.INVALID_ARGUMENT, /^token_ttl_seconds:/);
    }
  });

  it('gives ALREADY_EXISTS for a taken identity, and keeps peer_count right', async () => {
    const roomId = await newRoom();
    await t.client.peers.createPeer({ roomId, identity: 'same' }, { token });
    await expectStatus(t.client.peers.createPeer({ roomId, identity: 'same' }, { token }), status.ALREADY_EXISTS, /identity already exists/);
    expect((await t.client.rooms.getRoom({ roomId }, { token })).room!.peerCount).toBe(1);
  });

  it('gives FAILED_PRECONDITION when the room is full', async () => {
    const roomId = await newRoom(1);
    await t.client.peers.createPeer({ roomId }, { token });
    await expectStatus(t.client.peers.createPeer({ roomId }, { token }), status.FAILED_PRECONDITION, /room is full/);
  });

  it('gives NOT_FOUND for an unknown room and INVALID_ARGUMENT for bad fields', async () => {
    await expectStatus(t.client.peers.createPeer({ roomId: MISSING }, { token }), status.NOT_FOUND, /room not found/);
    const roomId = await newRoom();
    await expectStatus(t.client.peers.createPeer({ roomId, metadata: 'nope' }, { token }), status.INVALID_ARGUMENT, /^metadata:/);
    await expectStatus(t.client.peers.createPeer({ roomId, identity: 'x'.repeat(129) }, { token }), status.INVALID_ARGUMENT, /^identity:/);
    await expectStatus(t.client.peers.createPeer({ roomId, name: 'tab\there' }, { token }), status.INVALID_ARGUMENT, /^name:/);
  });

  it('returns byte-for-byte the first response for a repeated request_id', async () => {
    const roomId = await newRoom();
    const req = { roomId, identity: 'retry', permissions: ALL, requestId: 'peer-req-1' };
    const first = await t.client.peers.createPeer(req, { token });
    const second = await t.client.peers.createPeer(req, { token });
    expect(second).toEqual(first);
    await expectStatus(
      t.client.peers.createPeer({ ...req, identity: 'other' }, { token }),
      status.INVALID_ARGUMENT,
      /request_id: was already used/,
    );
    expect((await t.client.rooms.getRoom({ roomId }, { token })).room!.peerCount).toBe(1);
    // Once the peer is gone, a retry cannot return it: FAILED_PRECONDITION, not a new peer.
    await t.client.peers.deletePeer({ roomId, peerId: first.peer!.id }, { token });
    await expectStatus(t.client.peers.createPeer(req, { token }), status.FAILED_PRECONDITION, /has since been deleted/);
    expect((await t.client.rooms.getRoom({ roomId }, { token })).room!.peerCount).toBe(0);
  });
});

describe('GetPeer and ListPeers', () => {
  it('return peers of the room, paged oldest first', async () => {
    const roomId = await newRoom();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await t.client.peers.createPeer({ roomId, identity: `p${i}` }, { token })).peer!.id);
    const got = await t.client.peers.getPeer({ roomId, peerId: ids[2] }, { token });
    expect(got.peer).toMatchObject({ id: ids[2], identity: 'p2' });
    const first = await t.client.peers.listPeers({ roomId, pageSize: 2 }, { token });
    const second = await t.client.peers.listPeers({ roomId, pageSize: 2, pageToken: first.nextPageToken }, { token });
    const third = await t.client.peers.listPeers({ roomId, pageSize: 2, pageToken: second.nextPageToken }, { token });
    expect([...first.peers, ...second.peers, ...third.peers].map((p) => p.id)).toEqual(ids);
    expect(third.nextPageToken).toBe('');
  });

  it('give NOT_FOUND for an unknown room or peer', async () => {
    const roomId = await newRoom();
    await expectStatus(t.client.peers.getPeer({ roomId, peerId: MISSING }, { token }), status.NOT_FOUND, /peer not found/);
    await expectStatus(t.client.peers.listPeers({ roomId: MISSING }, { token }), status.NOT_FOUND, /room not found/);
    expect((await t.client.peers.listPeers({ roomId }, { token })).peers).toEqual([]);
  });
});

describe('DeletePeer', () => {
  it('removes the peer; its token stops verifying and its seat frees up', async () => {
    const roomId = await newRoom(1);
    const p = await t.client.peers.createPeer({ roomId, identity: 'leaver' }, { token });
    await t.client.peers.deletePeer({ roomId, peerId: p.peer!.id }, { token });
    expect(await t.client.tokens.verifyPeerToken({ token: p.peerToken }, { token })).toMatchObject({ valid: false, reason: 2 });
    expect((await t.client.rooms.getRoom({ roomId }, { token })).room!.peerCount).toBe(0);
    await t.client.peers.createPeer({ roomId, identity: 'leaver' }, { token });
    await expectStatus(t.client.peers.deletePeer({ roomId, peerId: p.peer!.id }, { token }), status.NOT_FOUND);
  });
});

describe('UpdatePeerMetadata', () => {
  it('changes client metadata only; the backend metadata is immutable', async () => {
    const roomId = await newRoom();
    const p = await t.client.peers.createPeer({ roomId, metadata: '{"plan":"pro"}' }, { token });
    const res = await t.client.peers.updatePeerMetadata({ roomId, peerId: p.peer!.id, clientMetadata: '{"mic":"off"}' }, { token });
    expect(res.peer).toMatchObject({ metadata: '{"plan":"pro"}', clientMetadata: '{"mic":"off"}' });
    await expectStatus(
      t.client.peers.updatePeerMetadata({ roomId, peerId: p.peer!.id, clientMetadata: '{' }, { token }),
      status.INVALID_ARGUMENT,
      /^client_metadata:/,
    );
    await expectStatus(
      t.client.peers.updatePeerMetadata({ roomId, peerId: MISSING, clientMetadata: '{}' }, { token }),
      status.NOT_FOUND,
    );
  });
});
