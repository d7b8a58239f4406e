import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import {
  buildDomain,
  createPeer,
  createRoom,
  management,
  peerPrincipal,
  T0,
  verifyToken,
  withPeer,
  type Domain,
} from '../support/fakes/index.js';

const rooms = management(['rooms']);
const input = (fields: Partial<{ identity: string; roomId: string; durationSeconds: number; reason: string }> = {}) => ({
  identity: 'mallory',
  roomId: '',
  durationSeconds: 0,
  reason: '',
  ...fields,
});

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a DomainError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}

const listAll = (d: Domain, fields: Partial<{ roomId: string; identity: string }> = {}) =>
  d.bans.list(rooms, { pageSize: 0, pageToken: '', roomId: '', identity: '', ...fields });

describe('BanManager.create', () => {
  it('bans from a room: deletes the identity there, refuses it there with ERR_IDENTITY_BANNED naming the ban but not the reason', async () => {
    const d = await buildDomain();
    const [a, b] = [await createRoom(d), await createRoom(d)];
    const inA = await createPeer(d, a.id, { identity: 'mallory' });
    await createPeer(d, b.id, { identity: 'mallory' });
    const { ban, deletedPeerCount } = await d.bans.create(rooms, input({ roomId: a.id, reason: 'secret words', durationSeconds: 60 }));
    expect(deletedPeerCount).toBe(1);
    expect(ban).toMatchObject({ identity: 'mallory', roomId: a.id, reason: 'secret words', createdAt: T0 });
    expect(ban.expiresAt).toEqual(new Date(T0.getTime() + 60_000));
    expect(await verifyToken(d, inA.token)).toMatchObject({ valid: false, reason: 'REVOKED' });
    // The manager dropped the deleted peer's cached liveness at once.
    expect(d.invalidate.calls).toContain(`peer:${inA.peer.id}`);
    const err = await rejection(createPeer(d, a.id, { identity: 'mallory' }));
    expect(err).toMatchObject({ code: 'ERR_IDENTITY_BANNED', metadata: { banId: ban.id } });
    expect(err.message).toContain(ban.id);
    expect(err.message).toContain(`room ${a.id}`);
    expect(err.message).toContain(ban.expiresAt!.toISOString());
    expect(err.message).not.toContain('secret');
    await createPeer(d, b.id, { identity: 'someone-else' });
  });

  it('bans from the environment: every room, this environment only', async () => {
    const d = await buildDomain();
    const [a, b] = [await createRoom(d), await createRoom(d)];
    await createPeer(d, a.id, { identity: 'mallory' });
    await createPeer(d, b.id, { identity: 'mallory' });
    const { ban, deletedPeerCount } = await d.bans.create(rooms, input());
    expect({ roomId: ban.roomId, expiresAt: ban.expiresAt, deletedPeerCount }).toEqual({ roomId: null, expiresAt: null, deletedPeerCount: 2 });
    const err = await rejection(createPeer(d, (await createRoom(d)).id, { identity: 'mallory' }));
    expect(err.message).toMatch(/every room of the environment .*until lifted/);
    await createPeer(d, (await createRoom(d, 'production')).id, { identity: 'mallory' }, 'production');
  });

  it('is ERR_BAN_EXISTS (banId) for a second active ban of the same scope, and takes the place of an expired one', async () => {
    const d = await buildDomain();
    const first = (await d.bans.create(rooms, input({ durationSeconds: 10 }))).ban;
    const err = await rejection(d.bans.create(rooms, input()));
    expect(err).toMatchObject({ code: 'ERR_BAN_EXISTS', metadata: { banId: first.id } });
    d.clock.advance(10);
    // Past its expiry the ban applies no more, before any sweep.
    await createPeer(d, (await createRoom(d)).id, { identity: 'mallory' });
    await expect(d.bans.get(rooms, first.id)).rejects.toMatchObject({ code: 'ERR_BAN_NOT_FOUND' });
    const second = (await d.bans.create(rooms, input())).ban;
    expect(second.id).not.toBe(first.id);
  });

  it('validates identity, room, duration and reason before anything changes', async () => {
    const d = await buildDomain();
    const bad: Array<[Partial<Parameters<typeof input>[0]>, RegExp]> = [
      [{ identity: '' }, /^identity: is required/],
      [{ identity: 'x'.repeat(129) }, /^identity: must be at most 128/],
      [{ identity: 'tab\there' }, /^identity:/],
      [{ roomId: 'room-1' }, /^room_id: must be a UUID/],
      [{ durationSeconds: 315_360_001 }, /^duration_seconds:/],
      [{ durationSeconds: 1.5 }, /^duration_seconds:/],
      [{ reason: 'r'.repeat(513) }, /^reason: must be at most 512/],
      [{ reason: 'line\nbreak' }, /^reason:/],
    ];
    for (const [fields, message] of bad) {
      const err = await rejection(d.bans.create(rooms, input(fields)));
      expect(err.code).toBe('ERR_INVALID_ARGUMENT');
      expect(err.message).toMatch(message);
    }
    expect(d.tables.bans.size).toBe(0);
    await d.bans.create(rooms, input({ durationSeconds: 315_360_000, reason: 'r'.repeat(512) }));
  });

  it('is ERR_ROOM_NOT_FOUND for a room of another environment', async () => {
    const d = await buildDomain();
    const room = await createRoom(d, 'production');
    await expect(d.bans.create(rooms, input({ roomId: room.id }))).rejects.toMatchObject({ code: 'ERR_ROOM_NOT_FOUND' });
  });

  it('caps active bans per environment (ERR_BAN_QUOTA_EXCEEDED); expired bans do not count', async () => {
    const d = await buildDomain({ limits: { maxBansPerEnvironment: 2 } });
    await d.bans.create(rooms, input({ identity: 'a', durationSeconds: 5 }));
    await d.bans.create(rooms, input({ identity: 'b' }));
    const err = await rejection(d.bans.create(rooms, input({ identity: 'c' })));
    expect(err.code).toBe('ERR_BAN_QUOTA_EXCEEDED');
    expect(err.message).toMatch(/2 active bans.*ROOMGATE_MAX_BANS_PER_ENVIRONMENT/);
    await d.bans.create(management(['admin'], 'production'), input({ identity: 'c' }));
    d.clock.advance(5);
    await d.bans.create(rooms, input({ identity: 'c' }));
  });

  it('needs scope rooms or admin; read and verify tokens and peer tokens are PERMISSION_DENIED', async () => {
    const { d, peer } = await withPeer({ permissions: { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true } });
    for (const principal of [management(['read']), management(['verify']), peerPrincipal(peer, { canRemoveParticipants: true })]) {
      await expect(d.bans.create(principal, input())).rejects.toMatchObject({ code: 'ERR_PERMISSION_DENIED' });
    }
    await d.bans.create(management(['admin']), input());
  });
});

describe('BanManager.get, list and lift', () => {
  it('lists active bans newest first in pages bound to their filters; read may list, only rooms may lift', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    const made = [];
    for (const identity of ['a', 'b', 'c']) made.push((await d.bans.create(rooms, input({ identity, roomId: room.id }))).ban);
    await d.bans.create(rooms, input({ identity: 'a' }));
    const read = management(['read']);
    const first = await d.bans.list(read, { pageSize: 2, pageToken: '', roomId: room.id, identity: '' });
    expect(first.items.map((b) => b.identity)).toEqual(['c', 'b']);
    const second = await d.bans.list(read, { pageSize: 2, pageToken: first.nextPageToken, roomId: room.id, identity: '' });
    expect(second).toEqual({ items: [made[0]], nextPageToken: '' });
    await expect(d.bans.list(read, { pageSize: 2, pageToken: first.nextPageToken, roomId: '', identity: '' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      field: 'page_token',
    });
    expect((await listAll(d, { identity: 'a' })).items.map((b) => b.roomId)).toEqual([null, room.id]);
    expect(await d.bans.get(read, made[1]!.id)).toEqual(made[1]);
    await expect(d.bans.lift(read, made[1]!.id)).rejects.toMatchObject({ code: 'ERR_PERMISSION_DENIED' });
    expect(await d.bans.lift(rooms, made[1]!.id)).toEqual(made[1]);
    await expect(d.bans.lift(rooms, made[1]!.id)).rejects.toMatchObject({ code: 'ERR_BAN_NOT_FOUND' });
    await createPeer(d, room.id, { identity: 'b' });
  });

  it('keeps environments apart: another environment\'s ban is ERR_BAN_NOT_FOUND and never listed', async () => {
    const d = await buildDomain();
    const { ban } = await d.bans.create(rooms, input());
    const other = management(['admin'], 'production');
    await expect(d.bans.get(other, ban.id)).rejects.toMatchObject({ code: 'ERR_BAN_NOT_FOUND' });
    await expect(d.bans.lift(other, ban.id)).rejects.toMatchObject({ code: 'ERR_BAN_NOT_FOUND' });
    expect((await d.bans.list(other, { pageSize: 0, pageToken: '', roomId: '', identity: '' })).items).toEqual([]);
  });
});

describe('PeerManager.delete with a ban', () => {
  it('deletes the peer and bans its identity from the room, or the environment', async () => {
    const d = await buildDomain();
    const [a, b] = [await createRoom(d), await createRoom(d)];
    const inA = await createPeer(d, a.id, { identity: 'mallory' });
    const inB = await createPeer(d, b.id, { identity: 'mallory' });
    const ban = await d.peers.delete(rooms, a.id, inA.peer.id, { environmentWide: false, durationSeconds: 0, reason: 'kick' });
    expect(ban).toMatchObject({ roomId: a.id, identity: 'mallory', reason: 'kick' });
    expect(await verifyToken(d, inA.token)).toMatchObject({ valid: false, reason: 'REVOKED' });
    expect(await verifyToken(d, inB.token)).toMatchObject({ valid: true });
    const wide = await d.peers.delete(rooms, b.id, inB.peer.id, { environmentWide: true, durationSeconds: 0, reason: '' });
    expect(wide?.roomId).toBeNull();
    expect(await verifyToken(d, inB.token)).toMatchObject({ valid: false, reason: 'REVOKED' });
    expect(d.tables.bans.size).toBe(2);
  });

  it('keeps an active ban of the same scope unchanged and returns it, still deleting the peer', async () => {
    const { d, room, peer, token } = await withPeer({ identity: 'mallory' });
    // Only reachable behind the API's back: a ban that predates the peer's deletion.
    const existing = { id: 'b1', environment: 'sandbox' as const, identity: 'mallory', roomId: room.id, reason: 'first', createdAt: T0, expiresAt: null, seq: d.tables.nextSeq() };
    d.tables.bans.set(existing.id, existing);
    const ban = await d.peers.delete(rooms, room.id, peer.id, { environmentWide: false, durationSeconds: 60, reason: 'second' });
    expect(ban).toEqual(existing);
    expect(d.tables.bans.size).toBe(1);
    expect(await verifyToken(d, token)).toMatchObject({ valid: false, reason: 'REVOKED' });
  });

  it('without a ban answers none; a peer token that asks for one is PERMISSION_DENIED and deletes nothing', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    const mod = await createPeer(d, room.id, { identity: 'mod' });
    const victim = await createPeer(d, room.id, { identity: 'victim' });
    const asMod = peerPrincipal(mod.peer, { canRemoveParticipants: true });
    await expect(d.peers.delete(asMod, room.id, victim.peer.id, { environmentWide: false, durationSeconds: 0, reason: '' })).rejects.toMatchObject({
      code: 'ERR_PERMISSION_DENIED',
      metadata: { action: 'ban:manage' },
    });
    expect(await d.peers.get(rooms, room.id, victim.peer.id)).toBeDefined();
    expect(await d.peers.delete(asMod, room.id, victim.peer.id)).toBeUndefined();
    expect(d.tables.bans.size).toBe(0);
  });

  it('is ERR_PEER_NOT_FOUND for a missing peer and validates the ban', async () => {
    const { d, room, peer } = await withPeer();
    await expect(
      d.peers.delete(rooms, room.id, '00000000-0000-4000-8000-000000000000', { environmentWide: false, durationSeconds: 0, reason: '' }),
    ).rejects.toMatchObject({ code: 'ERR_PEER_NOT_FOUND' });
    await expect(d.peers.delete(rooms, room.id, peer.id, { environmentWide: false, durationSeconds: -1, reason: '' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      field: 'ban.duration_seconds',
    });
    expect(await d.peers.get(rooms, room.id, peer.id)).toBeDefined();
  });
});

describe('expiry and room deletion', () => {
  it('the purge deletes bans past their expiry; a room takes its bans with it', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    await d.bans.create(rooms, input({ identity: 'short', durationSeconds: 1 }));
    await d.bans.create(rooms, input({ identity: 'forever' }));
    const inRoom = (await d.bans.create(rooms, input({ identity: 'room', roomId: room.id }))).ban;
    d.clock.advance(1);
    expect(await d.purgeStore.expireBans(100)).toBe(1);
    expect([...d.tables.bans.values()].map((b) => b.identity).sort()).toEqual(['forever', 'room']);
    await d.rooms.delete(rooms, room.id);
    await expect(d.bans.get(rooms, inRoom.id)).rejects.toMatchObject({ code: 'ERR_BAN_NOT_FOUND' });
  });
});
