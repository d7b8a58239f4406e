// Roles on peers over real gRPC and Postgres: CreatePeer and IssuePeerToken
// with a role (permissions, defaults, the recorded role, idempotent replay),
// Peer.role in GetPeer, ListPeers and events, and UpdateRole without and with
// apply_to_existing_peers: tokens already issued keep verifying unless asked,
// and with it every peer of the role is superseded on this instance, on a
// second one sharing the database (whose liveness cache held the peers), and
// in the event stream that offline verifiers read. Each test has its own
// rooms and role names on this file's database (see test/support/roomgate.ts).
import { status } from '@grpc/grpc-js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType, RevocationCause } from '../../src/gen/roomgate/v1/events.js';
import { TokenInvalidReason } from '../../src/gen/roomgate/v1/token_service.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';
import { Watch } from '../support/watch.js';

let t: TestRoomgate;
let other: TestRoomgate;
let token: string;
let verifier: string;
const NONE = { canPublish: false, canSubscribe: false, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false };
const LISTENER = { ...NONE, canSubscribe: true };
const SPEAKER = { ...NONE, canPublish: true, canSubscribe: true };
const HOST = { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true };
const R = TokenInvalidReason;
let n = 0;
const unique = (prefix: string) => `${prefix}-${Date.now()}-${++n}`;

beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_PURGE_INTERVAL_MS: '3600000' });
  other = await startTestRoomgate({ ROOMGATE_PURGE_INTERVAL_MS: '3600000', ROOMGATE_RELAY_ENABLED: 'false' }, { sharing: t });
  token = await t.managementToken('sandbox');
  verifier = await t.managementToken('sandbox', ['verify']);
});
afterAll(async () => {
  await other?.close();
  await t?.close();
});

const newRoom = async () => (await t.client.rooms.createRoom({}, { token })).room!.id;
const newRole = async (fields: { permissions?: typeof NONE; tokenTtlSeconds?: number; metadata?: string } = {}) => {
  const name = unique('role');
  await t.client.roles.createRole({ name, ...fields }, { token });
  return name;
};
const verify = async (peerToken: string, on = t) => on.client.tokens.verifyPeerToken({ token: peerToken }, { token: verifier });
const lifetime = (peerToken: string) => {
  const claims = decodeJwt(peerToken);
  return claims.exp! - claims.iat!;
};

describe('CreatePeer with a role', () => {
  it("gives the peer the role's permissions, lifetime and metadata, and records the role", async () => {
    const role = await newRole({ permissions: SPEAKER, tokenTtlSeconds: 600, metadata: '{"tier":"gold"}' });
    const roomId = await newRoom();
    const made = await t.client.peers.createPeer({ roomId, identity: 'ann', role }, { token });
    expect(made.peer).toMatchObject({ identity: 'ann', role, permissions: SPEAKER, metadata: '{"tier":"gold"}' });
    expect(lifetime(made.peerToken)).toBe(600);
    expect(made.tokenExpireTime!.getTime() - Date.now()).toBeLessThanOrEqual(600_000);
    const res = await verify(made.peerToken);
    expect(res).toMatchObject({ valid: true, claims: { permissions: SPEAKER } });
    expect((await t.client.peers.getPeer({ roomId, peerId: made.peer!.id }, { token })).peer).toMatchObject({ role, permissions: SPEAKER });
    expect((await t.client.peers.listPeers({ roomId }, { token })).peers.map((p) => p.role)).toEqual([role]);
  });

  it("takes the request's own lifetime and metadata over the role's", async () => {
    const role = await newRole({ tokenTtlSeconds: 600, metadata: '{"tier":"gold"}' });
    const made = await t.client.peers.createPeer({ roomId: await newRoom(), role, tokenTtlSeconds: 120, metadata: '{"seat":7}' }, { token });
    expect(made.peer!.metadata).toBe('{"seat":7}');
    expect(lifetime(made.peerToken)).toBe(120);
  });

  it('leaves Peer.role empty for explicit permissions', async () => {
    const made = await t.client.peers.createPeer({ roomId: await newRoom(), permissions: HOST }, { token });
    expect(made.peer!.role).toBe('');
  });

  it('refuses permissions with a role, naming both fields; an unknown role is NOT_FOUND; a bad name INVALID_ARGUMENT', async () => {
    const role = await newRole();
    const roomId = await newRoom();
    const err = await expectStatus(
      t.client.peers.createPeer({ roomId, role, permissions: NONE }, { token }),
      status.INVALID_ARGUMENT,
      new RegExp(`^permissions: must be unset when role is set: role "${role}" gives the permissions`),
    );
    expect(statusDetailsOf(err.metadata).badRequest[0]!.fieldViolations[0]!.field).toBe('permissions');
    const missing = await expectStatus(t.client.peers.createPeer({ roomId, role: 'no-such-role' }, { token }), status.NOT_FOUND, /role "no-such-role" not found/);
    expect(statusDetailsOf(missing.metadata).errorInfo[0]).toMatchObject({ reason: 'ERR_ROLE_NOT_FOUND', metadata: { role: 'no-such-role' } });
    await expectStatus(t.client.peers.createPeer({ roomId, role: 'Bad Name' }, { token }), status.INVALID_ARGUMENT, /^role: must be 1-64/);
    expect((await t.client.rooms.getRoom({ roomId }, { token })).room!.peerCount).toBe(0);
  });

  it('replays a request_id: the same peer and token, even after the role changed; another role is a mismatch', async () => {
    const role = await newRole({ permissions: SPEAKER, tokenTtlSeconds: 900 });
    const roomId = await newRoom();
    const request = { roomId, identity: 'replayed', role, requestId: unique('req') };
    const first = await t.client.peers.createPeer(request, { token });
    await t.client.roles.updateRole({ name: role, permissions: SPEAKER, tokenTtlSeconds: 300, metadata: '{"new":true}' }, { token });
    const retry = await t.client.peers.createPeer(request, { token });
    expect(retry.peer!.id).toBe(first.peer!.id);
    expect(retry.peerToken).toBe(first.peerToken);
    const other = await newRole({ permissions: SPEAKER });
    await expectStatus(t.client.peers.createPeer({ ...request, role: other }, { token }), status.INVALID_ARGUMENT, /request_id/);
    await expectStatus(t.client.peers.createPeer({ ...request, role: '', permissions: SPEAKER }, { token }), status.INVALID_ARGUMENT, /request_id/);
    expect((await t.client.rooms.getRoom({ roomId }, { token })).room!.peerCount).toBe(1);
  });

  it('shows the role in PEER_CREATED events', async () => {
    const role = await newRole({ permissions: LISTENER });
    const roomId = await newRoom();
    const watch = new Watch(t.client.eventStream, { roomId, types: [EventType.EVENT_TYPE_PEER_CREATED] }, token);
    await watch.subscribed;
    const made = await t.client.peers.createPeer({ roomId, role }, { token });
    const [event] = await watch.received(1);
    watch.cancel();
    expect(event!.payload).toMatchObject({ $case: 'peerCreated', value: { id: made.peer!.id, role, permissions: LISTENER } });
  });
});

describe('IssuePeerToken with a role', () => {
  it("gives the peer the role's permissions, supersedes its earlier tokens, records the role and mints with them", async () => {
    const role = await newRole({ permissions: SPEAKER, tokenTtlSeconds: 300 });
    const roomId = await newRoom();
    const made = await t.client.peers.createPeer({ roomId, permissions: LISTENER }, { token });
    expect((await verify(made.peerToken, other)).valid).toBe(true); // the second instance caches the peer
    const watch = new Watch(t.client.eventStream, { roomId, types: [EventType.EVENT_TYPE_PEER_TOKEN_REVOKED] }, token);
    await watch.subscribed;
    const issued = await t.client.tokens.issuePeerToken({ roomId, peerId: made.peer!.id, role }, { token });
    expect(lifetime(issued.peerToken)).toBe(300);
    expect(await verify(issued.peerToken)).toMatchObject({ valid: true, claims: { permissions: SPEAKER } });
    expect((await verify(made.peerToken)).reason).toBe(R.TOKEN_INVALID_REASON_SUPERSEDED);
    await expect.poll(async () => (await verify(made.peerToken, other)).reason).toBe(R.TOKEN_INVALID_REASON_SUPERSEDED);
    expect((await t.client.peers.getPeer({ roomId, peerId: made.peer!.id }, { token })).peer).toMatchObject({ role, permissions: SPEAKER });
    const [event] = await watch.received(1);
    watch.cancel();
    expect(event!.payload).toMatchObject({
      $case: 'peerTokenRevoked',
      value: { peerId: made.peer!.id, cause: RevocationCause.REVOCATION_CAUSE_PERMISSIONS_CHANGED, generation: 2 },
    });
    // An explicit lifetime wins over the role's.
    const again = await t.client.tokens.issuePeerToken({ roomId, peerId: made.peer!.id, role, tokenTtlSeconds: 3600 }, { token });
    expect(lifetime(again.peerToken)).toBe(3600);
    expect((await verify(issued.peerToken)).valid).toBe(true);
  });

  it('records the role without superseding anything when the permissions are already the same', async () => {
    const role = await newRole({ permissions: SPEAKER });
    const roomId = await newRoom();
    const made = await t.client.peers.createPeer({ roomId, permissions: SPEAKER }, { token });
    await t.client.tokens.issuePeerToken({ roomId, peerId: made.peer!.id, role }, { token });
    expect((await verify(made.peerToken)).valid).toBe(true);
    expect((await t.client.peers.getPeer({ roomId, peerId: made.peer!.id }, { token })).peer!.role).toBe(role);
    const { rows } = await t.db.pool.query("SELECT count(*)::int AS n FROM events WHERE room_id = $1 AND type = 'peer_token_revoked'", [roomId]);
    expect(rows[0].n).toBe(0);
  });

  it('is NOT_FOUND for an unknown role and changes nothing; without a role it is as before', async () => {
    const roomId = await newRoom();
    const made = await t.client.peers.createPeer({ roomId, permissions: LISTENER }, { token });
    await expectStatus(t.client.tokens.issuePeerToken({ roomId, peerId: made.peer!.id, role: 'nope' }, { token }), status.NOT_FOUND, /role "nope"/);
    await expectStatus(t.client.tokens.issuePeerToken({ roomId, peerId: made.peer!.id, role: 'NOPE' }, { token }), status.INVALID_ARGUMENT, /^role:/);
    const plain = await t.client.tokens.issuePeerToken({ roomId, peerId: made.peer!.id }, { token });
    expect(lifetime(plain.peerToken)).toBe(86_400);
    expect((await verify(made.peerToken)).valid).toBe(true);
    expect((await t.client.peers.getPeer({ roomId, peerId: made.peer!.id }, { token })).peer).toMatchObject({ role: '', permissions: LISTENER });
  });
});

describe('UpdateRole', () => {
  it('changes nothing already issued without apply_to_existing_peers', async () => {
    const role = await newRole({ permissions: SPEAKER, metadata: '{"v":1}' });
    const roomId = await newRoom();
    const old = await t.client.peers.createPeer({ roomId, role }, { token });
    const res = await t.client.roles.updateRole({ name: role, permissions: LISTENER, metadata: '{"v":2}' }, { token });
    expect(res.updatedPeerCount).toBe(0);
    // The old token still verifies, with the old permissions; the peer keeps them.
    expect(await verify(old.peerToken)).toMatchObject({ valid: true, claims: { permissions: SPEAKER } });
    expect(await verify(old.peerToken, other)).toMatchObject({ valid: true, claims: { permissions: SPEAKER } });
    expect((await t.client.peers.getPeer({ roomId, peerId: old.peer!.id }, { token })).peer).toMatchObject({ permissions: SPEAKER, metadata: '{"v":1}' });
    // New peers get the new terms.
    const fresh = await t.client.peers.createPeer({ roomId, role }, { token });
    expect(fresh.peer).toMatchObject({ permissions: LISTENER, metadata: '{"v":2}' });
  });

  it("with apply_to_existing_peers, supersedes exactly the role's peers whose permissions differ, on every instance and in events", async () => {
    const role = await newRole({ permissions: SPEAKER });
    const bystanderRole = await newRole({ permissions: SPEAKER });
    const [roomA, roomB] = [await newRoom(), await newRoom()];
    const inA = await Promise.all([1, 2, 3].map((i) => t.client.peers.createPeer({ roomId: roomA, identity: `a${i}`, role, metadata: `{"i":${i}}` }, { token })));
    const inB = await t.client.peers.createPeer({ roomId: roomB, identity: 'b1', role }, { token });
    // Already has the new permissions: not counted, not superseded.
    const same = await t.client.peers.createPeer({ roomId: roomB, identity: 'b2', role }, { token });
    await t.client.peers.updatePeer({ roomId: roomB, peerId: same.peer!.id, permissions: HOST }, { token });
    const sameToken = (await t.client.tokens.issuePeerToken({ roomId: roomB, peerId: same.peer!.id }, { token })).peerToken;
    const bystander = await t.client.peers.createPeer({ roomId: roomA, identity: 'x', role: bystanderRole }, { token });
    const explicit = await t.client.peers.createPeer({ roomId: roomA, identity: 'y', permissions: SPEAKER }, { token });
    const changed = [...inA, inB];
    for (const p of changed) expect((await verify(p.peerToken, other)).valid).toBe(true); // cached on the second instance
    const watch = new Watch(t.client.eventStream, { types: [EventType.EVENT_TYPE_PEER_TOKEN_REVOKED] }, token);
    await watch.subscribed;

    const res = await t.client.roles.updateRole({ name: role, permissions: HOST, metadata: '{"new":1}', applyToExistingPeers: true }, { token });
    expect(res.updatedPeerCount).toBe(4);
    expect(res.role).toMatchObject({ permissions: HOST, metadata: '{"new":1}' });

    for (const p of changed) {
      expect(await verify(p.peerToken)).toMatchObject({ valid: false, reason: R.TOKEN_INVALID_REASON_SUPERSEDED });
      await expect.poll(async () => (await verify(p.peerToken, other)).reason).toBe(R.TOKEN_INVALID_REASON_SUPERSEDED);
      const now = (await t.client.peers.getPeer({ roomId: p.peer!.roomId, peerId: p.peer!.id }, { token })).peer!;
      // Backend metadata of existing peers never changes.
      expect(now).toMatchObject({ permissions: HOST, role, metadata: p.peer!.metadata });
      const refreshed = await t.client.tokens.refreshPeerToken({}, { token: p.peerToken });
      expect(await verify(refreshed.peerToken)).toMatchObject({ valid: true, claims: { permissions: HOST } });
    }
    for (const p of [bystander, explicit]) expect((await verify(p.peerToken)).valid).toBe(true);
    expect((await verify(sameToken)).valid).toBe(true);

    // A watch from now may also deliver UpdatePeer's revocation, committed just before it started.
    const changedIds = changed.map((p) => p.peer!.id);
    const revocations = () =>
      watch.events.flatMap((e) => (e.payload?.$case === 'peerTokenRevoked' && changedIds.includes(e.payload.value.peerId) ? [e.payload.value] : []));
    await expect.poll(() => revocations().length).toBe(4);
    watch.cancel();
    expect(revocations().map((e) => e.peerId).sort()).toEqual([...changedIds].sort());
    for (const e of revocations()) expect(e).toMatchObject({ cause: RevocationCause.REVOCATION_CAUSE_PERMISSIONS_CHANGED, generation: 2 });
    // The peer that had the new permissions already got no revocation from UpdateRole (UpdatePeer's is generation 2).
    const ofSame = watch.events.flatMap((e) => (e.payload?.$case === 'peerTokenRevoked' && e.payload.value.peerId === same.peer!.id ? [e.payload.value] : []));
    expect(ofSame.filter((e) => e.generation > 2)).toEqual([]);
    // Each room's events keep their sequence, without gaps.
    for (const roomId of [roomA, roomB]) {
      const { rows } = await t.db.pool.query<{ room_seq: string }>('SELECT room_seq FROM events WHERE room_id = $1 ORDER BY txid, position', [roomId]);
      expect(rows.map((r) => Number(r.room_seq))).toEqual(rows.map((_, i) => i + 1));
    }
    // Applying the same permissions again changes no one.
    const again = await t.client.roles.updateRole({ name: role, permissions: HOST, applyToExistingPeers: true }, { token });
    expect(again.updatedPeerCount).toBe(0);
  });
});
