import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { NO_PERMISSIONS } from '../../src/domain/principal.js';
import {
  ALL_PERMISSIONS,
  buildDomain,
  createPeer,
  createRoom,
  management,
  peerInput,
  T0,
  T0_SECONDS,
  verifyToken,
  withPeer,
} from '../support/fakes/index.js';

describe('PeerManager.create', () => {
  it('returns the peer and a first token that verifies with its claims, valid for the default TTL', async () => {
    const { d, room, peer, token } = await withPeer({ name: 'Alice', metadata: '{"role":"host"}', permissions: { ...NO_PERMISSIONS, canPublish: true } });
    expect(peer).toMatchObject({ roomId: room.id, identity: 'alice', name: 'Alice', metadata: '{"role":"host"}', generation: 1, status: 'new' });
    const result = await verifyToken(d, token, room.id);
    expect(result).toMatchObject({
      valid: true,
      claims: { peerId: peer.id, roomId: room.id, identity: 'alice', generation: 1, environment: 'sandbox' },
    });
    expect(decodeJwt(token).exp).toBe(T0_SECONDS + d.limits.defaultTokenTtlSeconds);
  });

  it('defaults an empty identity to the peer id and unset permissions to none', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    const { peer } = await createPeer(d, room.id, { identity: '', permissions: undefined });
    expect(peer.identity).toBe(peer.id);
    expect(peer.permissions).toEqual(NO_PERMISSIONS);
  });

  it('refuses a peer beyond max_peers with ERR_ROOM_FULL, and has a seat again after a delete', async () => {
    const d = await buildDomain();
    const room = await createRoom(d, 'sandbox', 2);
    const first = await createPeer(d, room.id, { identity: 'a' });
    await createPeer(d, room.id, { identity: 'b' });
    const before = d.tables.snapshot();
    await expect(createPeer(d, room.id, { identity: 'c' })).rejects.toMatchObject({ code: 'ERR_ROOM_FULL' });
    expect(d.tables.snapshot()).toEqual(before);
    await d.peers.delete(management(['rooms']), room.id, first.peer.id);
    expect((await createPeer(d, room.id, { identity: 'c' })).peer.identity).toBe('c');
    expect((await d.roomStore.get('sandbox', room.id))?.peerCount).toBe(2);
  });

  it('refuses an identity already in the room with ERR_PEER_IDENTITY_TAKEN, but not in another room', async () => {
    const { d, room } = await withPeer();
    const before = d.tables.snapshot();
    await expect(createPeer(d, room.id, { identity: 'alice' })).rejects.toMatchObject({ code: 'ERR_PEER_IDENTITY_TAKEN' });
    expect(d.tables.snapshot()).toEqual(before);
    const other = await createRoom(d);
    expect((await createPeer(d, other.id, { identity: 'alice' })).peer.roomId).toBe(other.id);
  });

  it('answers ERR_ROOM_NOT_FOUND for a room that does not exist', async () => {
    const d = await buildDomain();
    await expect(createPeer(d, randomUUID(), { identity: 'a' })).rejects.toMatchObject({ code: 'ERR_ROOM_NOT_FOUND' });
    await expect(createPeer(d, randomUUID(), { identity: 'a', requestId: 'r' })).rejects.toMatchObject({ code: 'ERR_ROOM_NOT_FOUND' });
  });

  it('replays a retried request_id: same peer, byte-identical token, even later and once the room is full', async () => {
    const d = await buildDomain();
    const room = await createRoom(d, 'sandbox', 1);
    const input = peerInput(room.id, { identity: 'alice', requestId: 'join-1', tokenTtlSeconds: 600 });
    const first = await d.peers.create(management(['rooms']), input);
    d.clock.advance(120);
    const retry = await d.peers.create(management(['rooms']), input);
    expect(retry.peer.id).toBe(first.peer.id);
    expect(retry.token).toBe(first.token);
    expect(retry.expiresAt).toEqual(new Date(T0.getTime() + 600_000));
    expect(await d.peerStore.list('sandbox', room.id, undefined, 10)).toHaveLength(1);
  });

  // RFC 7519 4.1.7: a jti names one token. A retry after UpdatePeerPermissions
  // must not re-sign different claims under the first token's jti.
  it('never gives a retried request a different token under the first token’s jti', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    const input = peerInput(room.id, { identity: 'alice', requestId: 'join-1' });
    const first = await d.peers.create(management(['rooms']), input);
    await d.peers.updatePermissions(management(['rooms']), room.id, first.peer.id, ALL_PERMISSIONS);
    const retry = await d.peers.create(management(['rooms']), input);
    expect(decodeJwt(retry.token).jti).not.toBe(decodeJwt(first.token).jti);
    expect(decodeJwt(retry.token)).toMatchObject({ gen: 2, permissions: ALL_PERMISSIONS });
    expect(retry.expiresAt).toEqual(first.expiresAt);
  });

  it('refuses a request_id reused with other parameters with ERR_IDEMPOTENCY_MISMATCH, creating nothing', async () => {
    const { d, room } = await withPeer({ requestId: 'join-1' });
    const before = d.tables.snapshot();
    await expect(createPeer(d, room.id, { identity: 'bob', requestId: 'join-1' })).rejects.toMatchObject({
      code: 'ERR_IDEMPOTENCY_MISMATCH',
      message: expect.stringMatching(/^request_id: /),
    });
    expect(d.tables.snapshot()).toEqual(before);
  });

  it('answers ERR_IDEMPOTENT_TARGET_GONE to a retry after its peer was deleted, rather than creating another', async () => {
    const { d, room, peer } = await withPeer({ requestId: 'join-1' });
    await d.peers.delete(management(['rooms']), room.id, peer.id);
    await expect(createPeer(d, room.id, { identity: 'alice', requestId: 'join-1' })).rejects.toMatchObject({
      code: 'ERR_IDEMPOTENT_TARGET_GONE',
    });
    expect(await d.peerStore.list('sandbox', room.id, undefined, 10)).toEqual([]);
  });

  it('honours token_ttl_seconds, capped by the maximum session length', async () => {
    const d = await buildDomain({ limits: { maxPeerSessionSeconds: 600 } });
    const room = await createRoom(d);
    const short = await createPeer(d, room.id, { identity: 'a', tokenTtlSeconds: 120 });
    expect(short.expiresAt).toEqual(new Date(T0.getTime() + 120_000));
    const capped = await createPeer(d, room.id, { identity: 'b', tokenTtlSeconds: 3600 });
    expect(capped.expiresAt).toEqual(new Date(T0.getTime() + 600_000));
    expect(decodeJwt(capped.token).exp).toBe(T0_SECONDS + 600);
  });

  const INVALID: Array<[string, Partial<ReturnType<typeof peerInput>>]> = [
    ['room_id', { roomId: 'not-a-uuid' }],
    ['identity', { identity: 'x'.repeat(129) }],
    ['identity', { identity: 'tab\there' }],
    ['name', { name: 'n'.repeat(129) }],
    ['metadata', { metadata: '{not json' }],
    ['metadata', { metadata: JSON.stringify({ a: 'x'.repeat(5000) }) }],
    ['token_ttl_seconds', { tokenTtlSeconds: 59 }],
    ['token_ttl_seconds', { tokenTtlSeconds: 86_401 }],
    ['request_id', { requestId: 'has space' }],
  ];
  it.each(INVALID)('refuses an invalid %s with ERR_INVALID_ARGUMENT naming the field, creating nothing', async (field, fields) => {
    const d = await buildDomain();
    const room = await createRoom(d);
    const before = d.tables.snapshot();
    await expect(d.peers.create(management(['rooms']), peerInput(room.id, { identity: 'a', ...fields }))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(new RegExp(`^${field}: `)),
    });
    expect(d.tables.snapshot()).toEqual(before);
  });
});

describe('PeerManager.list', () => {
  it('pages oldest first by keyset, so a peer added between pages is neither skipped nor repeated', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    for (const identity of ['p1', 'p2', 'p3']) await createPeer(d, room.id, { identity });
    const reader = management(['read']);
    const page1 = await d.peers.list(reader, room.id, 2, '');
    expect(page1.items.map((p) => p.identity)).toEqual(['p1', 'p2']);
    await createPeer(d, room.id, { identity: 'p4' });
    await d.peers.delete(management(['rooms']), room.id, page1.items[0]!.id);
    const page2 = await d.peers.list(reader, room.id, 2, page1.nextPageToken);
    expect(page2.items.map((p) => p.identity)).toEqual(['p3', 'p4']);
    expect(page2.nextPageToken).toBe('');
  });

  it('refuses a forged page_token and an oversized page_size, naming the field', async () => {
    const { d, room } = await withPeer();
    await expect(d.peers.list(management(['read']), room.id, 0, 'garbage')).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(/^page_token: /),
    });
    await expect(d.peers.list(management(['read']), room.id, d.limits.maxPageSize + 1, '')).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(/^page_size: /),
    });
  });
});

describe('PeerManager.updatePermissions', () => {
  it('replaces all five permissions and bumps the generation, superseding the earlier token at once', async () => {
    const { d, room, peer, token } = await withPeer({ permissions: ALL_PERMISSIONS });
    // Verified once, so the liveness cache holds generation 1 when the change lands.
    expect(await verifyToken(d, token)).toMatchObject({ valid: true });
    const subscribeOnly = { ...NO_PERMISSIONS, canSubscribe: true };
    const updated = await d.peers.updatePermissions(management(['rooms']), room.id, peer.id, subscribeOnly);
    expect(updated.generation).toBe(2);
    expect(updated.permissions).toEqual(subscribeOnly);
    expect(await verifyToken(d, token)).toMatchObject({ valid: false, reason: 'SUPERSEDED', claims: { generation: 1 } });
    const fresh = await d.tokens.issue(management(['rooms']), room.id, peer.id, 0);
    expect(await verifyToken(d, fresh.token)).toMatchObject({ valid: true, claims: { generation: 2, permissions: updated.permissions } });
  });

  it('requires the permissions, leaving the generation as it was', async () => {
    const { d, room, peer } = await withPeer();
    await expect(d.peers.updatePermissions(management(['rooms']), room.id, peer.id, undefined)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(/^permissions: /),
    });
    expect((await d.peerStore.get('sandbox', room.id, peer.id))?.generation).toBe(1);
  });
});

describe('PeerManager.delete and reportStatus', () => {
  it('deletes a peer, frees its seat and revokes its token; a second delete is ERR_PEER_NOT_FOUND', async () => {
    const { d, room, peer, token } = await withPeer();
    expect(await verifyToken(d, token)).toMatchObject({ valid: true });
    await d.peers.delete(management(['rooms']), room.id, peer.id);
    expect(await verifyToken(d, token)).toEqual({ valid: false, reason: 'REVOKED' });
    expect((await d.roomStore.get('sandbox', room.id))?.peerCount).toBe(0);
    await expect(d.peers.delete(management(['rooms']), room.id, peer.id)).rejects.toMatchObject({ code: 'ERR_PEER_NOT_FOUND' });
  });

  it('records a status change with its time, ignores a repeated report, and refuses unknown statuses', async () => {
    const { d, room, peer } = await withPeer();
    const media = management(['verify']);
    d.clock.advance(10);
    const connected = await d.peers.reportStatus(media, room.id, peer.id, 'connected');
    expect(connected).toMatchObject({ status: 'connected', statusChangedAt: new Date(T0.getTime() + 10_000) });
    d.clock.advance(10);
    const again = await d.peers.reportStatus(media, room.id, peer.id, 'connected');
    expect(again.statusChangedAt).toEqual(connected.statusChangedAt);
    await expect(d.peers.reportStatus(media, room.id, peer.id, 'new')).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(/^status: /),
    });
  });
});
