// BanService and DeletePeer's ban over real gRPC and Postgres: every status
// the API names, enforcement on CreatePeer, IssuePeerToken and
// RefreshPeerToken, revocation on a second instance, ListBans paging and
// filters, environment isolation, lift, expiry (before and by the purge), and
// ban events in WatchEvents and webhooks. The main server runs with a purge
// interval of an hour, so nothing is swept unless a test starts an instance
// that sweeps; other instances share its database (see test/support/roomgate.ts).
import { status } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType, RevocationCause, type Event } from '../../src/gen/roomgate/v1/events.js';
import { TokenInvalidReason } from '../../src/gen/roomgate/v1/token_service.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';
import { waitUntil } from '../support/wait-until.js';
import { Watch } from '../support/watch.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let t: TestRoomgate;
let other: TestRoomgate;
let token: string;
let production: string;
let reader: string;
let verifier: string;
const MISSING = '00000000-0000-4000-8000-00000000dead';
const ALL = { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true };
let n = 0;
const unique = (prefix: string) => `${prefix}-${Date.now()}-${++n}`;

beforeAll(async () => {
  t = await startTestRoomgate({
    ROOMGATE_PURGE_INTERVAL_MS: '3600000',
    ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true',
    ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  other = await startTestRoomgate({ ROOMGATE_PURGE_INTERVAL_MS: '3600000', ROOMGATE_RELAY_ENABLED: 'false' }, { sharing: t });
  token = await t.managementToken('sandbox');
  production = await t.managementToken('production');
  reader = await t.managementToken('sandbox', ['read']);
  verifier = await t.managementToken('sandbox', ['verify']);
});
afterAll(async () => {
  await other?.close();
  await t?.close();
});

const newRoom = async (as = token) => (await t.client.rooms.createRoom({}, { token: as })).room!.id;
const join = (roomId: string, identity: string, as = token) =>
  t.client.peers.createPeer({ roomId, identity, permissions: ALL }, { token: as });
const verify = async (client: TestRoomgate, peerToken: string) =>
  (await client.client.tokens.verifyPeerToken({ token: peerToken }, { token: verifier })).reason;

describe('CreateBan', () => {
  it('bans from one room: deletes the peer there, revokes its token, refuses it there only', async () => {
    const [roomA, roomB] = [await newRoom(), await newRoom()];
    const identity = unique('mallory');
    const inA = await join(roomA, identity);
    const inB = await join(roomB, identity);
    const res = await t.client.bans.createBan({ identity, roomId: roomA, durationSeconds: 0, reason: 'spam links' }, { token });
    expect(res.deletedPeerCount).toBe(1);
    expect(res.ban).toMatchObject({ identity, roomId: roomA, reason: 'spam links', expireTime: undefined });
    expect(res.ban!.createTime).toBeInstanceOf(Date);
    expect(await verify(t, inA.peerToken)).toBe(TokenInvalidReason.TOKEN_INVALID_REASON_REVOKED);
    expect(await verify(t, inB.peerToken)).toBe(TokenInvalidReason.TOKEN_INVALID_REASON_UNSPECIFIED);
    const refused = await expectStatus(join(roomA, identity), status.FAILED_PRECONDITION, /identity is banned from room/);
    expect(refused.details).toContain(res.ban!.id);
    expect(refused.details).toContain('until lifted');
    expect(refused.details).not.toContain('spam');
    const info = statusDetailsOf(refused.metadata).errorInfo[0]!;
    expect(info).toMatchObject({ reason: 'ERR_IDENTITY_BANNED', metadata: { banId: res.ban!.id } });
    expect(JSON.stringify(info)).not.toContain('spam');
    expect((await t.client.rooms.getRoom({ roomId: roomA }, { token })).room!.peerCount).toBe(0);
    // Another identity, and the same identity elsewhere, still join.
    await join(roomA, unique('alice'));
    await join(await newRoom(), identity);
  });

  it('bans from the whole environment: deletes the peers of every room and refuses every room', async () => {
    const rooms = [await newRoom(), await newRoom(), await newRoom()];
    const identity = unique('eve');
    const peers = await Promise.all(rooms.map((r) => join(r, identity)));
    const res = await t.client.bans.createBan({ identity, durationSeconds: 3600 }, { token });
    expect(res.deletedPeerCount).toBe(3);
    expect(res.ban!.roomId).toBe('');
    const lasts = res.ban!.expireTime!.getTime() - res.ban!.createTime!.getTime();
    expect(lasts).toBe(3_600_000);
    for (const p of peers) expect(await verify(t, p.peerToken)).toBe(TokenInvalidReason.TOKEN_INVALID_REASON_REVOKED);
    const refused = await expectStatus(join(await newRoom(), identity), status.FAILED_PRECONDITION, /every room of the environment/);
    expect(refused.details).toContain(res.ban!.expireTime!.toISOString());
    // The other environment is not banned.
    await join(await newRoom(production), identity, production);
  });

  it('never gives a banned identity a token: IssuePeerToken and RefreshPeerToken fail for its deleted peers', async () => {
    const roomId = await newRoom();
    const identity = unique('issue');
    const p = await join(roomId, identity);
    await t.client.bans.createBan({ identity, roomId }, { token });
    await expectStatus(t.client.tokens.issuePeerToken({ roomId, peerId: p.peer!.id }, { token }), status.NOT_FOUND, /peer not found/);
    await expectStatus(t.client.tokens.refreshPeerToken({}, { token: p.peerToken }), status.UNAUTHENTICATED);
    await expectStatus(join(roomId, identity), status.FAILED_PRECONDITION);
  });

  it('is ALREADY_EXISTS, naming the ban, for a second active ban of the same identity and scope', async () => {
    const roomId = await newRoom();
    const identity = unique('twice');
    const first = await t.client.bans.createBan({ identity, roomId }, { token });
    const err = await expectStatus(t.client.bans.createBan({ identity, roomId }, { token }), status.ALREADY_EXISTS, /already banned/);
    expect(statusDetailsOf(err.metadata).errorInfo[0]).toMatchObject({ reason: 'ERR_BAN_EXISTS', metadata: { banId: first.ban!.id } });
    // Another scope is another ban.
    await t.client.bans.createBan({ identity }, { token });
    await expectStatus(t.client.bans.createBan({ identity }, { token }), status.ALREADY_EXISTS);
  });

  it('refuses bad fields with INVALID_ARGUMENT and rooms it cannot see with NOT_FOUND', async () => {
    const roomId = await newRoom();
    await expectStatus(t.client.bans.createBan({ roomId }, { token }), status.INVALID_ARGUMENT, /^identity: is required/);
    await expectStatus(t.client.bans.createBan({ identity: 'x'.repeat(129) }, { token }), status.INVALID_ARGUMENT, /^identity:/);
    await expectStatus(t.client.bans.createBan({ identity: 'a\u202Eb' }, { token }), status.INVALID_ARGUMENT, /^identity:/);
    await expectStatus(t.client.bans.createBan({ identity: 'x', reason: 'r'.repeat(513) }, { token }), status.INVALID_ARGUMENT, /^reason: must be at most 512/);
    await t.client.bans.createBan({ identity: unique('long-reason'), reason: 'r'.repeat(512) }, { token });
    await expectStatus(t.client.bans.createBan({ identity: 'x', durationSeconds: 315_360_001 }, { token }), status.INVALID_ARGUMENT, /^duration_seconds:/);
    await expectStatus(t.client.bans.createBan({ identity: 'x', roomId: 'nope' }, { token }), status.INVALID_ARGUMENT, /^room_id:/);
    await expectStatus(t.client.bans.createBan({ identity: 'x', roomId: MISSING }, { token }), status.NOT_FOUND, /room not found/);
    await expectStatus(t.client.bans.createBan({ identity: 'x', roomId }, { token: production }), status.NOT_FOUND, /room not found/);
    await expectStatus(t.client.bans.createBan({ identity: 'x' }, { token: reader }), status.PERMISSION_DENIED, /'rooms' scope/);
  });

  it('refuses bans past ROOMGATE_MAX_BANS_PER_ENVIRONMENT with RESOURCE_EXHAUSTED, per environment', async () => {
    const capped = await startTestRoomgate({ ROOMGATE_MAX_BANS_PER_ENVIRONMENT: '2', ROOMGATE_PURGE_INTERVAL_MS: '3600000' }, { sharing: t });
    try {
      const admin = await capped.managementToken('production');
      const before = (await capped.client.bans.listBans({ pageSize: 100 }, { token: admin })).bans.length;
      // The sandbox is over this instance's cap already; production counts its own.
      const sandbox = await capped.managementToken('sandbox');
      expect((await capped.client.bans.listBans({ pageSize: 100 }, { token: sandbox })).bans.length).toBeGreaterThan(2);
      expect(before).toBeLessThan(2);
      for (let i = before; i < 2; i++) await capped.client.bans.createBan({ identity: unique('quota') }, { token: admin });
      const identity = unique('quota-over');
      const roomId = (await capped.client.rooms.createRoom({}, { token: admin })).room!.id;
      const p = await capped.client.peers.createPeer({ roomId, identity }, { token: admin });
      await expectStatus(
        capped.client.bans.createBan({ identity, roomId }, { token: admin }),
        status.RESOURCE_EXHAUSTED,
        /already has 2 active bans.*ROOMGATE_MAX_BANS_PER_ENVIRONMENT/,
      );
      // Nothing happened: the peer is still there.
      expect((await capped.client.peers.getPeer({ roomId, peerId: p.peer!.id }, { token: admin })).peer!.identity).toBe(identity);
      // DeletePeer's ban counts too, and then deletes nothing.
      await expectStatus(
        capped.client.peers.deletePeer({ roomId, peerId: p.peer!.id, ban: { environmentWide: false } }, { token: admin }),
        status.RESOURCE_EXHAUSTED,
      );
      await capped.client.peers.getPeer({ roomId, peerId: p.peer!.id }, { token: admin });
      await expectStatus(capped.client.bans.createBan({ identity: unique('quota-sandbox') }, { token: sandbox }), status.RESOURCE_EXHAUSTED);
      // Lifting one makes room again.
      const [newest] = (await capped.client.bans.listBans({ pageSize: 1 }, { token: admin })).bans;
      await capped.client.bans.deleteBan({ banId: newest!.id }, { token: admin });
      expect((await capped.client.bans.createBan({ identity, roomId }, { token: admin })).deletedPeerCount).toBe(1);
    } finally {
      await capped.close();
    }
  });
});

describe('revocation on every instance', () => {
  it('makes VerifyPeerToken on another instance, which had verified the token, say REVOKED right after the ban', async () => {
    const roomId = await newRoom();
    const identity = unique('cross');
    const p = await join(roomId, identity);
    // Both instances hold the peer as live in their caches.
    expect(await verify(other, p.peerToken)).toBe(TokenInvalidReason.TOKEN_INVALID_REASON_UNSPECIFIED);
    expect(await verify(other, p.peerToken)).toBe(TokenInvalidReason.TOKEN_INVALID_REASON_UNSPECIFIED);
    await t.client.bans.createBan({ identity }, { token });
    const started = Date.now();
    await waitUntil(async () => (await verify(other, p.peerToken)) === TokenInvalidReason.TOKEN_INVALID_REASON_REVOKED, 2000, 5);
    expect(Date.now() - started).toBeLessThan(2000);
    await expectStatus(other.client.peers.createPeer({ roomId, identity }, { token }), status.FAILED_PRECONDITION, /banned/);
  });
});

describe('DeletePeer with a ban', () => {
  it('deletes the peer and bans its identity from the room in one call', async () => {
    const roomId = await newRoom();
    const identity = unique('kick');
    const p = await join(roomId, identity);
    const res = await t.client.peers.deletePeer({ roomId, peerId: p.peer!.id, ban: { durationSeconds: 60, reason: 'flooding' } }, { token });
    expect(res.ban).toMatchObject({ identity, roomId, reason: 'flooding' });
    expect(res.ban!.expireTime!.getTime() - res.ban!.createTime!.getTime()).toBe(60_000);
    expect(await verify(t, p.peerToken)).toBe(TokenInvalidReason.TOKEN_INVALID_REASON_REVOKED);
    await expectStatus(join(roomId, identity), status.FAILED_PRECONDITION, /banned from room/);
    expect((await t.client.bans.getBan({ banId: res.ban!.id }, { token: reader })).ban).toEqual(res.ban);
    // Without a ban, DeletePeer answers no ban.
    const q = await join(roomId, unique('plain'));
    expect((await t.client.peers.deletePeer({ roomId, peerId: q.peer!.id }, { token })).ban).toBeUndefined();
  });

  it('bans from the environment with environment_wide, deleting the identity in other rooms too', async () => {
    const [roomA, roomB] = [await newRoom(), await newRoom()];
    const identity = unique('kick-all');
    const a = await join(roomA, identity);
    const b = await join(roomB, identity);
    const res = await t.client.peers.deletePeer({ roomId: roomA, peerId: a.peer!.id, ban: { environmentWide: true } }, { token });
    expect(res.ban).toMatchObject({ identity, roomId: '', expireTime: undefined });
    expect(await verify(t, b.peerToken)).toBe(TokenInvalidReason.TOKEN_INVALID_REASON_REVOKED);
    await expectStatus(join(await newRoom(), identity), status.FAILED_PRECONDITION, /every room/);
  });

  it('keeps an active ban of the same identity and scope unchanged and returns it, still deleting the peer', async () => {
    const roomId = await newRoom();
    const identity = unique('already');
    const p = await join(roomId, identity);
    // Through the API a ban deletes the identity's peers in its scope and keeps
    // new ones out, so this state needs a row written behind its back: a ban
    // made while the peer already existed.
    const { rows } = await t.db.pool.query<{ id: string }>(
      `INSERT INTO bans (id, environment, identity, room_id, reason) VALUES (gen_random_uuid(), 'sandbox', $1, $2, 'first') RETURNING id`,
      [identity, roomId],
    );
    const res = await t.client.peers.deletePeer({ roomId, peerId: p.peer!.id, ban: { reason: 'second', durationSeconds: 60 } }, { token });
    expect(res.ban).toMatchObject({ id: rows[0]!.id, reason: 'first', expireTime: undefined });
    expect(await verify(t, p.peerToken)).toBe(TokenInvalidReason.TOKEN_INVALID_REASON_REVOKED);
    expect((await t.client.bans.listBans({ identity }, { token })).bans.map((b) => b.id)).toEqual([rows[0]!.id]);
  });

  it('refuses a ban asked by a peer token (PERMISSION_DENIED) and deletes nothing; a plain kick by it works', async () => {
    const roomId = await newRoom();
    const moderator = await join(roomId, unique('mod'));
    const victim = await join(roomId, unique('victim'));
    await expectStatus(
      t.client.peers.deletePeer({ roomId, peerId: victim.peer!.id, ban: {} }, { token: moderator.peerToken }),
      status.PERMISSION_DENIED,
      /peer token may not perform ban:manage/,
    );
    await t.client.peers.getPeer({ roomId, peerId: victim.peer!.id }, { token });
    await expectStatus(
      t.client.peers.deletePeer({ roomId, peerId: victim.peer!.id, ban: {} }, { token: reader }),
      status.PERMISSION_DENIED,
    );
    await t.client.peers.deletePeer({ roomId, peerId: victim.peer!.id }, { token: moderator.peerToken });
  });

  it('is NOT_FOUND for a missing peer and INVALID_ARGUMENT for a bad ban, changing nothing', async () => {
    const roomId = await newRoom();
    await expectStatus(t.client.peers.deletePeer({ roomId, peerId: MISSING, ban: {} }, { token }), status.NOT_FOUND, /peer not found/);
    const p = await join(roomId, unique('bad-ban'));
    await expectStatus(
      t.client.peers.deletePeer({ roomId, peerId: p.peer!.id, ban: { reason: 'x'.repeat(513) } }, { token }),
      status.INVALID_ARGUMENT,
      /^ban\.reason:/,
    );
    await t.client.peers.getPeer({ roomId, peerId: p.peer!.id }, { token });
  });
});

describe('GetBan, ListBans and DeleteBan', () => {
  it('lists active bans newest first, in pages, filtered by room and identity', async () => {
    const roomId = await newRoom();
    const identities = Array.from({ length: 5 }, () => unique('page'));
    const made = [];
    for (const identity of identities) made.push((await t.client.bans.createBan({ identity, roomId }, { token })).ban!);
    await t.client.bans.createBan({ identity: identities[0] }, { token }); // environment-wide: not a ban "of this room"
    const seen = [];
    let pageToken = '';
    do {
      const page = await t.client.bans.listBans({ roomId, pageSize: 2, pageToken }, { token: reader });
      expect(page.bans.length).toBeLessThanOrEqual(2);
      seen.push(...page.bans);
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(seen.map((b) => b.id)).toEqual(made.map((b) => b.id).reverse());
    const mine = await t.client.bans.listBans({ identity: identities[0] }, { token });
    expect(mine.bans.map((b) => b.roomId)).toEqual(['', roomId]);
    const both = await t.client.bans.listBans({ identity: identities[0], roomId }, { token });
    expect(both.bans.map((b) => b.id)).toEqual([made[0]!.id]);
    // A page token belongs to its filters and environment.
    const first = await t.client.bans.listBans({ roomId, pageSize: 1 }, { token });
    await expectStatus(t.client.bans.listBans({ pageToken: first.nextPageToken }, { token }), status.INVALID_ARGUMENT, /^page_token:/);
    await expectStatus(
      t.client.bans.listBans({ roomId, pageToken: first.nextPageToken }, { token: production }),
      status.INVALID_ARGUMENT,
      /^page_token:/,
    );
    await expectStatus(t.client.bans.listBans({ pageSize: 101 }, { token }), status.INVALID_ARGUMENT, /^page_size:/);
    await expectStatus(t.client.bans.listBans({ roomId: 'x' }, { token }), status.INVALID_ARGUMENT, /^room_id:/);
    // The other environment sees none of them.
    expect((await t.client.bans.listBans({ roomId }, { token: production })).bans).toEqual([]);
  });

  it('lifts a ban: the identity joins again; a lifted, unknown or other environment ban is NOT_FOUND', async () => {
    const roomId = await newRoom();
    const identity = unique('lift');
    const { ban } = await t.client.bans.createBan({ identity, roomId }, { token });
    await expectStatus(t.client.bans.getBan({ banId: ban!.id }, { token: production }), status.NOT_FOUND, /ban not found/);
    await expectStatus(t.client.bans.deleteBan({ banId: ban!.id }, { token: production }), status.NOT_FOUND, /ban not found/);
    await expectStatus(t.client.bans.deleteBan({ banId: ban!.id }, { token: reader }), status.PERMISSION_DENIED);
    await t.client.bans.deleteBan({ banId: ban!.id }, { token });
    await join(roomId, identity);
    await expectStatus(t.client.bans.deleteBan({ banId: ban!.id }, { token }), status.NOT_FOUND, /ban not found/);
    await expectStatus(t.client.bans.getBan({ banId: ban!.id }, { token }), status.NOT_FOUND, /ban not found/);
    await expectStatus(t.client.bans.getBan({ banId: MISSING }, { token }), status.NOT_FOUND);
    await expectStatus(t.client.bans.getBan({ banId: '' }, { token }), status.INVALID_ARGUMENT, /^ban_id: is required/);
    // A new ban may be made once the old one is gone.
    await t.client.bans.createBan({ identity, roomId }, { token });
  });

  it('drops a room ban with its room', async () => {
    const roomId = await newRoom();
    const { ban } = await t.client.bans.createBan({ identity: unique('room-gone'), roomId }, { token });
    await t.client.rooms.deleteRoom({ roomId }, { token });
    await expectStatus(t.client.bans.getBan({ banId: ban!.id }, { token }), status.NOT_FOUND);
    const { rows } = await t.db.pool.query('SELECT 1 FROM bans WHERE id = $1', [ban!.id]);
    expect(rows).toHaveLength(0);
  });
});

describe('expiry', () => {
  it('stops applying at expire_time before any sweep; the purge then deletes it with BAN_EXPIRED', { timeout: 60_000 }, async () => {
    const roomId = await newRoom();
    const identity = unique('expires');
    const watch = new Watch(t.client.eventStream, { types: [EventType.EVENT_TYPE_BAN_EXPIRED] }, token);
    await watch.subscribed;
    const { ban } = await t.client.bans.createBan({ identity, roomId, durationSeconds: 1 }, { token });
    const envWide = (await t.client.bans.createBan({ identity, durationSeconds: 1 }, { token })).ban!;
    await expectStatus(join(roomId, identity), status.FAILED_PRECONDITION);
    await sleep(Math.max(0, ban!.expireTime!.getTime() - Date.now(), envWide.expireTime!.getTime() - Date.now()) + 50);
    // Not swept yet (no instance has purged within the hour), and it applies no more.
    expect((await t.db.pool.query('SELECT 1 FROM bans WHERE identity = $1', [identity])).rows).toHaveLength(2);
    await join(roomId, identity);
    await expectStatus(t.client.bans.getBan({ banId: ban!.id }, { token }), status.NOT_FOUND);
    expect((await t.client.bans.listBans({ identity }, { token })).bans).toEqual([]);
    await expectStatus(t.client.bans.deleteBan({ banId: ban!.id }, { token }), status.NOT_FOUND);
    const sweeper = await startTestRoomgate({ ROOMGATE_PURGE_INTERVAL_MS: '100', ROOMGATE_RELAY_ENABLED: 'false' }, { sharing: t });
    try {
      // Generous: the stream waits for every older transaction of the
      // Postgres cluster, and other test files share it.
      const events = await watch.received(2, 25_000);
      const expired = new Map(events.map((e) => [e.payload?.$case === 'banExpired' ? e.payload.value.id : '', e]));
      expect(expired.get(ban!.id)).toMatchObject({ type: EventType.EVENT_TYPE_BAN_EXPIRED, roomId });
      expect(expired.get(envWide.id)).toMatchObject({ type: EventType.EVENT_TYPE_BAN_EXPIRED, roomId: '', sequence: '0' });
      await waitUntil(async () => (await t.db.pool.query('SELECT 1 FROM bans WHERE identity = $1', [identity])).rowCount === 0, 25_000);
    } finally {
      watch.cancel();
      await sweeper.close();
    }
  });

  it('lets a new ban replace one past its expiry that was not swept yet', async () => {
    const identity = unique('again');
    const first = (await t.client.bans.createBan({ identity, durationSeconds: 1 }, { token })).ban!;
    await sleep(first.expireTime!.getTime() - Date.now() + 50);
    const second = (await t.client.bans.createBan({ identity }, { token })).ban!;
    expect(second.id).not.toBe(first.id);
    expect((await t.client.bans.listBans({ identity }, { token })).bans.map((b) => b.id)).toEqual([second.id]);
    // The old one went with its BAN_EXPIRED, in the same transaction as the new one's BAN_CREATED.
    const { rows } = await t.db.pool.query<{ type: string; ban: string }>(
      `SELECT type, payload->'ban'->>'id' AS ban FROM events WHERE payload->'ban'->>'identity' = $1 ORDER BY position`,
      [identity],
    );
    expect(rows).toEqual([
      { type: 'ban_created', ban: first.id },
      { type: 'ban_expired', ban: first.id },
      { type: 'ban_created', ban: second.id },
    ]);
  });
});

describe('ban events', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(() => receiver?.close());

  const payloadOf = (e: Event) => e.payload;

  it('reach WatchEvents: a room ban in its room, with the banned peers revoked (cause BANNED); an environment-wide one with no room', { timeout: 60_000 }, async () => {
    const roomId = await newRoom();
    const identity = unique('watched');
    const p = await join(roomId, identity);
    const all = new Watch(t.client.eventStream, {}, token);
    const roomOnly = new Watch(t.client.eventStream, { roomId }, token);
    await Promise.all([all.subscribed, roomOnly.subscribed]);
    const { ban } = await t.client.bans.createBan({ identity, roomId, reason: 'r1' }, { token });
    const envWide = (await t.client.bans.createBan({ identity }, { token })).ban!;
    await t.client.bans.deleteBan({ banId: envWide.id }, { token });
    // A watch may also start with events committed just before it (those of a
    // transaction id above the oldest one still running): the room's creation
    // and the join's are skipped.
    const isSetUp = (e: Event) => e.type === EventType.EVENT_TYPE_PEER_CREATED || e.type === EventType.EVENT_TYPE_ROOM_CREATED;
    const isLift = (e: Event) => e.payload?.$case === 'banLifted';
    await waitUntil(() => all.events.some(isLift), 25_000);
    const events = all.events.filter((e) => !isSetUp(e));
    expect(events.map((e) => e.type)).toEqual([
      EventType.EVENT_TYPE_BAN_CREATED,
      EventType.EVENT_TYPE_PEER_DELETED,
      EventType.EVENT_TYPE_PEER_TOKEN_REVOKED,
      EventType.EVENT_TYPE_BAN_CREATED,
      EventType.EVENT_TYPE_BAN_LIFTED,
    ]);
    const [created, , revoked, envCreated, lifted] = events;
    expect(created).toMatchObject({ roomId, payload: { $case: 'banCreated', value: { id: ban!.id, identity, roomId, reason: 'r1' } } });
    expect(BigInt(created!.sequence)).toBeGreaterThan(0n);
    expect(payloadOf(revoked!)).toEqual({
      $case: 'peerTokenRevoked',
      value: { peerId: p.peer!.id, identity, cause: RevocationCause.REVOCATION_CAUSE_BANNED, generation: 2 },
    });
    expect(envCreated).toMatchObject({ roomId: '', sequence: '0', payload: { $case: 'banCreated', value: { id: envWide.id, roomId: '' } } });
    expect(lifted).toMatchObject({ roomId: '', sequence: '0', payload: { $case: 'banLifted', value: { id: envWide.id } } });
    // A room-filtered watch gets the room's events, and no environment-wide one.
    const roomEvents = () => roomOnly.events.filter((e) => !isSetUp(e));
    await waitUntil(() => roomEvents().length >= 3, 25_000);
    await sleep(300);
    expect(roomEvents().map((e) => e.type)).toEqual([
      EventType.EVENT_TYPE_BAN_CREATED,
      EventType.EVENT_TYPE_PEER_DELETED,
      EventType.EVENT_TYPE_PEER_TOKEN_REVOKED,
    ]);
    expect(roomOnly.events.every((e) => e.roomId === roomId)).toBe(true);
    all.cancel();
    roomOnly.cancel();
  });

  it('reach webhooks: every ban event to an environment endpoint, only its room ban to a room endpoint', { timeout: 60_000 }, async () => {
    const roomId = await newRoom(production);
    const types = [EventType.EVENT_TYPE_BAN_CREATED, EventType.EVENT_TYPE_BAN_LIFTED];
    await t.client.events.createWebhookEndpoint({ url: receiver.url('/env'), eventTypes: types }, { token: production });
    await t.client.events.createWebhookEndpoint({ url: receiver.url('/room'), eventTypes: types, roomId }, { token: production });
    const identity = unique('hooked');
    const roomBan = (await t.client.bans.createBan({ identity, roomId }, { token: production })).ban!;
    const envBan = (await t.client.bans.createBan({ identity }, { token: production })).ban!;
    await t.client.bans.deleteBan({ banId: envBan.id }, { token: production });
    await waitUntil(() => receiver.received('/env').length >= 3 && receiver.received('/room').length >= 1, 25_000);
    const bodies = (path: string) => receiver.received(path).map((r) => JSON.parse(r.body) as Record<string, unknown>);
    const env = bodies('/env');
    expect(env).toHaveLength(3);
    expect(env.filter((b) => b.roomId === roomId)).toMatchObject([{ type: 'EVENT_TYPE_BAN_CREATED', banCreated: { id: roomBan.id } }]);
    // Environment-wide events have no room and no sequence, and keep their order.
    const wide = env.filter((b) => b.roomId === undefined);
    expect(wide).toMatchObject([
      { type: 'EVENT_TYPE_BAN_CREATED', banCreated: { id: envBan.id, identity } },
      { type: 'EVENT_TYPE_BAN_LIFTED', banLifted: { id: envBan.id } },
    ]);
    expect(wide.every((b) => b.sequence === undefined)).toBe(true);
    await sleep(300);
    const room = bodies('/room');
    expect(room).toHaveLength(1);
    expect(room[0]).toMatchObject({ type: 'EVENT_TYPE_BAN_CREATED', roomId, banCreated: { id: roomBan.id } });
  });
});
