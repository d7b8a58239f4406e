// Issue 3 over real gRPC: scoped management tokens with create/list/revoke
// (with a grace period) and expiry, permission changes that supersede peer
// tokens, IssuePeerToken, the maximum session, and the room quota.
import { status } from '@grpc/grpc-js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagementScope as S } from '../../src/gen/roomgate/v1/resources.js';
import { TokenInvalidReason as R } from '../../src/gen/roomgate/v1/token_service.js';
import { ManualClock } from '../../src/domain/clock.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let admin: string;
const clock = new ManualClock(new Date());

beforeAll(async () => {
  t = await startTestRoomgate({}, { clock });
  admin = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

const as = (token: string) => ({ token });

describe('management token scopes', () => {
  it('each scope allows its RPCs and PERMISSION_DENIED names the missing scope', async () => {
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    const { peerToken } = await t.client.peers.createPeer({ roomId: room!.id }, as(admin));
    const read = await t.managementToken('sandbox', ['read']);
    const rooms = await t.managementToken('sandbox', ['rooms']);
    const verify = await t.managementToken('sandbox', ['verify']);

    expect((await t.client.rooms.getRoom({ roomId: room!.id }, as(read))).room!.id).toBe(room!.id);
    await t.client.rooms.listRooms({}, as(read));
    await expectStatus(t.client.rooms.createRoom({}, as(read)), status.PERMISSION_DENIED, /lacks the 'rooms' scope/);
    await expectStatus(t.client.tokens.verifyPeerToken({ token: peerToken }, as(read)), status.PERMISSION_DENIED, /'verify' scope/);

    await t.client.peers.createPeer({ roomId: room!.id }, as(rooms));
    await expectStatus(t.client.tokens.verifyPeerToken({ token: peerToken }, as(rooms)), status.PERMISSION_DENIED, /'verify' scope/);
    await expectStatus(t.client.tokens.listManagementTokens({}, as(rooms)), status.PERMISSION_DENIED, /'admin' scope/);

    expect((await t.client.tokens.verifyPeerToken({ token: peerToken }, as(verify))).valid).toBe(true);
    await expectStatus(t.client.rooms.getRoom({ roomId: room!.id }, as(verify)), status.PERMISSION_DENIED, /'rooms' scope/);
    await expectStatus(t.client.tokens.rotateSigningKey({}, as(verify)), status.PERMISSION_DENIED, /'admin' scope/);
  });
});

describe('CreateManagementToken, ListManagementTokens, RevokeManagementToken', () => {
  it('creates a token shown once, lists it without the secret, and validates input', async () => {
    const created = await t.client.tokens.createManagementToken({ name: 'media-server-1', scopes: [S.MANAGEMENT_SCOPE_VERIFY] }, as(admin));
    expect(created.token).toMatch(/^rg_sandbox_[0-9A-Za-z]{49}$/);
    expect(created.managementToken).toMatchObject({ name: 'media-server-1', scopes: [S.MANAGEMENT_SCOPE_VERIFY], inactive: false });
    expect(created.managementToken!.hint).toBe(`rg_sandbox_…${created.token.slice(-4)}`);
    const all = [];
    let pageToken = '';
    do {
      const page = await t.client.tokens.listManagementTokens({ pageSize: 2, pageToken }, as(admin));
      all.push(...page.managementTokens);
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(all.find((m) => m.id === created.managementToken!.id)).toMatchObject({ name: 'media-server-1' });
    expect(JSON.stringify(all)).not.toContain(created.token.slice(11, 40));

    await expectStatus(t.client.tokens.createManagementToken({ name: 'x', scopes: [] }, as(admin)), status.INVALID_ARGUMENT, /^scopes:/);
    await expectStatus(
      t.client.tokens.createManagementToken({ name: 'x', scopes: [S.MANAGEMENT_SCOPE_UNSPECIFIED] }, as(admin)),
      status.INVALID_ARGUMENT,
      /^scopes:/,
    );
    await expectStatus(
      t.client.tokens.createManagementToken({ name: 'x', scopes: [S.MANAGEMENT_SCOPE_READ], expireTime: new Date(clock.now().getTime() - 1000) }, as(admin)),
      status.INVALID_ARGUMENT,
      /^expire_time:/,
    );
    // Found by the fuzz test: a far-future Timestamp reached the INSERT (and, past a Date's range, failed there as INTERNAL).
    await expectStatus(
      t.client.tokens.createManagementToken({ name: 'x', scopes: [S.MANAGEMENT_SCOPE_READ], expireTime: new Date(Date.UTC(20000, 0, 1)) }, as(admin)),
      status.INVALID_ARGUMENT,
      /^expire_time: must be a time before the year 10000/,
    );
  });

  it('keeps another environment\'s tokens out of reach', async () => {
    const live = await t.managementToken('production');
    const created = await t.client.tokens.createManagementToken({ name: 'sb', scopes: [S.MANAGEMENT_SCOPE_READ] }, as(admin));
    await expectStatus(t.client.tokens.revokeManagementToken({ id: created.managementToken!.id }, as(live)), status.NOT_FOUND);
    const listed = await t.client.tokens.listManagementTokens({ pageSize: 100 }, as(live));
    expect(listed.managementTokens.map((m) => m.id)).not.toContain(created.managementToken!.id);
  });

  it('revokes at once, or after a grace period during which both tokens work', async () => {
    const old = await t.client.tokens.createManagementToken({ name: 'old', scopes: [S.MANAGEMENT_SCOPE_READ] }, as(admin));
    await t.client.rooms.listRooms({}, as(old.token));
    const revoked = await t.client.tokens.revokeManagementToken({ id: old.managementToken!.id, graceSeconds: 3600 }, as(admin));
    expect(revoked.managementToken!.inactive).toBe(false);
    expect(revoked.managementToken!.revokeTime!.getTime()).toBe(clock.now().getTime() + 3600_000);
    await t.client.rooms.listRooms({}, as(old.token));
    clock.advance(3601);
    await expectStatus(t.client.rooms.listRooms({}, as(old.token)), status.UNAUTHENTICATED, /^invalid, expired or revoked credentials$/);

    const now = await t.client.tokens.createManagementToken({ name: 'now', scopes: [S.MANAGEMENT_SCOPE_READ] }, as(admin));
    await t.client.tokens.revokeManagementToken({ id: now.managementToken!.id }, as(admin));
    await expectStatus(t.client.rooms.listRooms({}, as(now.token)), status.UNAUTHENTICATED);
    await expectStatus(t.client.tokens.revokeManagementToken({ id: now.managementToken!.id, graceSeconds: 31 * 86_400 }, as(admin)), status.INVALID_ARGUMENT, /^grace_seconds:/);
  });

  it('stops an expired token', async () => {
    const soon = await t.client.tokens.createManagementToken(
      { name: 'soon', scopes: [S.MANAGEMENT_SCOPE_READ], expireTime: new Date(clock.now().getTime() + 60_000) },
      as(admin),
    );
    await t.client.rooms.listRooms({}, as(soon.token));
    clock.advance(61);
    await expectStatus(t.client.rooms.listRooms({}, as(soon.token)), status.UNAUTHENTICATED);
  });
});

describe('UpdatePeer supersedes earlier tokens', () => {
  it('makes old tokens SUPERSEDED; refresh and IssuePeerToken give the new permissions', async () => {
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    const created = await t.client.peers.createPeer({ roomId: room!.id, permissions: { canPublish: true, canSubscribe: true } }, as(admin));
    const peerId = created.peer!.id;
    const updated = await t.client.peers.updatePeer({ roomId: room!.id, peerId, permissions: { canSubscribe: true } }, as(admin));
    expect(updated.peer!.permissions).toMatchObject({ canPublish: false, canSubscribe: true });

    expect(await t.client.tokens.verifyPeerToken({ token: created.peerToken }, as(admin))).toMatchObject({
      valid: false,
      reason: R.TOKEN_INVALID_REASON_SUPERSEDED,
    });
    // The old token may still be exchanged, and nothing else.
    await expectStatus(t.client.rooms.getRoom({ roomId: room!.id }, as(created.peerToken)), status.UNAUTHENTICATED, /superseded/);
    const refreshed = await t.client.tokens.refreshPeerToken({}, as(created.peerToken));
    expect(decodeJwt(refreshed.peerToken).permissions).toMatchObject({ canPublish: false, canSubscribe: true });
    expect((await t.client.tokens.verifyPeerToken({ token: refreshed.peerToken }, as(admin))).valid).toBe(true);

    const issued = await t.client.tokens.issuePeerToken({ roomId: room!.id, peerId, tokenTtlSeconds: 300 }, as(admin));
    const claims = decodeJwt(issued.peerToken);
    expect(claims.exp! - claims.iat!).toBe(300);
    expect((await t.client.tokens.verifyPeerToken({ token: issued.peerToken, roomId: room!.id }, as(admin))).valid).toBe(true);
  });

  it('validates UpdatePeer and IssuePeerToken, and refuses them to peers and read tokens', async () => {
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    const p = await t.client.peers.createPeer({ roomId: room!.id, permissions: { canRemoveParticipants: true, canUpdateRoom: true } }, as(admin));
    const missing = '00000000-0000-4000-8000-00000000dead';
    await expectStatus(t.client.peers.updatePeer({ roomId: room!.id, peerId: p.peer!.id }, as(admin)), status.INVALID_ARGUMENT, /^permissions:/);
    await expectStatus(t.client.peers.updatePeer({ roomId: room!.id, peerId: missing, permissions: {} }, as(admin)), status.NOT_FOUND);
    await expectStatus(t.client.tokens.issuePeerToken({ roomId: room!.id, peerId: missing }, as(admin)), status.NOT_FOUND);
    await expectStatus(t.client.tokens.issuePeerToken({ roomId: room!.id, peerId: p.peer!.id, tokenTtlSeconds: 10 }, as(admin)), status.INVALID_ARGUMENT);
    await expectStatus(t.client.peers.updatePeer({ roomId: room!.id, peerId: p.peer!.id, permissions: {} }, as(p.peerToken)), status.PERMISSION_DENIED);
    await expectStatus(t.client.tokens.issuePeerToken({ roomId: room!.id, peerId: p.peer!.id }, as(p.peerToken)), status.PERMISSION_DENIED);
    const read = await t.managementToken('sandbox', ['read']);
    await expectStatus(t.client.tokens.issuePeerToken({ roomId: room!.id, peerId: p.peer!.id }, as(read)), status.PERMISSION_DENIED, /'rooms'/);
  });
});

describe('maximum peer session', () => {
  it('caps refreshed and issued tokens at created_at + 7 days, then refuses', async () => {
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    const p = await t.client.peers.createPeer({ roomId: room!.id }, as(admin));
    const sessionEnd = p.peer!.createTime!.getTime() / 1000 + 7 * 86_400;
    clock.advance(6.5 * 86_400);
    const issued = await t.client.tokens.issuePeerToken({ roomId: room!.id, peerId: p.peer!.id }, as(admin));
    expect(decodeJwt(issued.peerToken).exp).toBe(Math.floor(sessionEnd));
    const refreshed = await t.client.tokens.refreshPeerToken({}, as(issued.peerToken));
    expect(decodeJwt(refreshed.peerToken).exp).toBe(Math.floor(sessionEnd));
    clock.advance(0.5 * 86_400 + 1);
    await expectStatus(
      t.client.tokens.issuePeerToken({ roomId: room!.id, peerId: p.peer!.id }, as(admin)),
      status.FAILED_PRECONDITION,
      /maximum lifetime/,
    );
  });
});

describe('room quota', () => {
  let q: TestRoomgate;
  beforeAll(async () => {
    q = await startTestRoomgate({ ROOMGATE_MAX_ROOMS_PER_ENVIRONMENT: '5' });
  });
  afterAll(() => q?.close());

  it('gives RESOURCE_EXHAUSTED past ROOMGATE_MAX_ROOMS_PER_ENVIRONMENT, exactly, under concurrency', async () => {
    const t = q;
    const live = await t.managementToken('production');
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => t.client.rooms.createRoom({}, as(live))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.map((r) => r.reason.code)).toEqual(Array(7).fill(status.RESOURCE_EXHAUSTED));
    expect(rejected[0]!.reason.details).toMatch(/ROOMGATE_MAX_ROOMS_PER_ENVIRONMENT/);
    const { rooms } = await t.client.rooms.listRooms({}, as(live));
    await t.client.rooms.deleteRoom({ roomId: rooms[0]!.id }, as(live));
    await t.client.rooms.createRoom({}, as(live));
    const { rows } = await t.db.pool.query("SELECT count(*)::int AS n FROM rooms WHERE environment = 'production'");
    expect(rows[0].n).toBe(5);
    // The other environment has a quota of its own.
    await t.client.rooms.createRoom({}, as(await t.managementToken('sandbox')));
  });
});
