// RedeemJoinCode over real gRPC and Postgres, without a bearer token: a
// redemption makes a peer with the code's role (as it is then) whose token
// verifies; an unknown, expired, revoked or used-up code gets one
// indistinguishable error; bans, max_peers and a personal code's identity
// hold, and none of those refusals counts a use; require_app_url resolves the
// app URL before the use is counted; the rate limits count every attempt
// before the look-up; a redemption is events, a webhook and an audit record.
// Concurrency across processes is join-codes-race.test.ts. The server runs on
// a database of this file's own (test/support/roomgate.ts), which a
// rate-limited second instance shares.
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditServiceClient, type ListAuditEventsResponse } from '../../src/gen/roomgate/v1/audit_service.js';
import { EventType } from '../../src/gen/roomgate/v1/events.js';
import { AuditActorKind, JoinCodeKind } from '../../src/gen/roomgate/v1/resources.js';
import { inSeconds, joinCodeClient, setAppUrls, UNLIMITED_JOINS, type JoinCodeCalls } from '../support/join-codes.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { waitUntil } from '../support/wait-until.js';
import { Watch } from '../support/watch.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let t: TestRoomgate;
let token: string;
let codes: JoinCodeCalls;
let receiver: WebhookReceiver;
const SPEAKER = { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: false, canRemoveParticipants: false };
const INVALID = /^the join code is not valid/;
// Every call here comes from 127.0.0.1: the rate limits are tested in their own file.

beforeAll(async () => {
  t = await startTestRoomgate({
    ...UNLIMITED_JOINS,
    ROOMGATE_PURGE_INTERVAL_MS: '3600000',
    ROOMGATE_PUBLIC_URL: 'https://rooms.example.com/',
    ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true',
    ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  receiver = await startWebhookReceiver();
  token = await t.managementToken('sandbox');
  codes = joinCodeClient(t.address);
  await t.client.roles.createRole({ name: 'speaker', permissions: SPEAKER, tokenTtlSeconds: 1800, metadata: '{"tier":"speaker"}' }, { token });
  await t.client.roles.createRole({ name: 'viewer', permissions: { canSubscribe: true }, tokenTtlSeconds: 600 }, { token });
});
afterAll(async () => {
  await receiver?.close();
  codes?.close();
  await t?.close();
});

const newRoom = async (maxPeers = 0) => (await t.client.rooms.createRoom({ maxPeers }, { token })).room!.id;
const newCode = (roomId: string, extra: Record<string, unknown> = {}) =>
  codes.create({ roomId, role: 'speaker', expireTime: inSeconds(3600), ...extra }, token);
const useCount = async (id: string) => (await codes.get({ id }, token)).joinCode!.useCount;
const errorCode = (err: ServiceError) => err.metadata.get('roomgate-error-code')[0];
const peersOf = async (roomId: string) => (await t.client.peers.listPeers({ roomId, pageSize: 100 }, { token })).peers;

describe('RedeemJoinCode', () => {
  it('makes a peer with the role, named by display_name, whose token verifies with the role permissions', async () => {
    const roomId = await newRoom();
    const made = await newCode(roomId, { maxUses: 2 });
    expect(made.code).toMatch(/^rgj_[A-Za-z0-9_-]{32}$/);
    expect(made.joinUrl).toBe(`https://rooms.example.com/join/${made.code}`);
    const before = Date.now();
    const r = await codes.redeem({ code: made.code, displayName: 'Ada' });
    expect(r.peer).toMatchObject({ roomId, name: 'Ada', role: 'speaker', metadata: '{"tier":"speaker"}', permissions: SPEAKER });
    expect(r.peer!.identity).toBe(r.peer!.id);
    const ttl = (r.tokenExpireTime!.getTime() - before) / 1000;
    expect(ttl).toBeGreaterThan(1790);
    expect(ttl).toBeLessThanOrEqual(1801);
    expect(r.appUrl).toBe('');
    const verified = await t.client.tokens.verifyPeerToken({ token: r.peerToken, roomId }, { token });
    expect(verified.valid).toBe(true);
    expect(verified.claims).toMatchObject({ peerId: r.peer!.id, roomId, name: 'Ada', permissions: SPEAKER });
    // The token is a working credential of the peer: it reads its own room.
    await t.client.peers.getPeer({ roomId, peerId: r.peer!.id }, { token: r.peerToken });
    expect(await useCount(made.joinCode!.id)).toBe(1);
  });

  it('takes short codes in any case, with or without dashes and spaces', async () => {
    const roomId = await newRoom();
    const made = await newCode(roomId, { kind: JoinCodeKind.JOIN_CODE_KIND_SHORT, maxUses: 3, role: 'viewer', expireTime: inSeconds(600) });
    expect(made.code).toMatch(/^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
    expect(made.joinCode!.codeHint).toBe(made.code.slice(-4));
    const letters = made.code.replace(/-/g, '');
    for (const typed of [made.code.toUpperCase(), letters, ` ${letters.slice(0, 5)} ${letters.slice(5)} `]) {
      const r = await codes.redeem({ code: typed, displayName: 'Typist' });
      expect(r.peer!.permissions!.canSubscribe).toBe(true);
      expect(r.peer!.permissions!.canPublish).toBe(false);
    }
    expect(await useCount(made.joinCode!.id)).toBe(3);
  });

  it('answers an unknown, expired, revoked or used-up code with one indistinguishable error', async () => {
    const roomId = await newRoom();
    const expired = await newCode(roomId);
    await t.db.pool.query("UPDATE join_codes SET expires_at = now() - interval '1 second' WHERE id = $1", [expired.joinCode!.id]);
    const revoked = await newCode(roomId);
    await codes.revoke({ id: revoked.joinCode!.id }, token);
    const usedUp = await newCode(roomId, { maxUses: 1 });
    await codes.redeem({ code: usedUp.code, displayName: 'First' });
    const shortMade = await newCode(roomId, { kind: JoinCodeKind.JOIN_CODE_KIND_SHORT, expireTime: inSeconds(600) });
    const unknownShort = shortMade.code.split('').reverse().join('');
    const attempts = {
      unknown: 'rgj_' + 'A'.repeat(32),
      unknownShort,
      malformed: 'not a code at all',
      expired: expired.code,
      revoked: revoked.code,
      usedUp: usedUp.code,
    };
    const answers = new Set<string>();
    for (const [what, code] of Object.entries(attempts)) {
      const err = await expectStatus(codes.redeem({ code, displayName: 'Mallory' }), status.UNAUTHENTICATED, INVALID);
      expect(errorCode(err), what).toBe('ERR_JOIN_CODE_INVALID');
      answers.add(JSON.stringify([err.code, err.details, errorCode(err)]));
    }
    expect(answers.size).toBe(1);
    expect(await peersOf(roomId)).toHaveLength(1);
  });

  it('keeps a banned identity out without counting the use', async () => {
    const roomId = await newRoom();
    const made = await newCode(roomId, { identity: 'mallory', maxUses: 3 });
    await t.client.bans.createBan({ identity: 'mallory', roomId }, { token });
    const err = await expectStatus(codes.redeem({ code: made.code, displayName: 'Mallory' }), status.FAILED_PRECONDITION);
    expect(errorCode(err)).toBe('ERR_IDENTITY_BANNED');
    expect(await useCount(made.joinCode!.id)).toBe(0);
    expect(await peersOf(roomId)).toHaveLength(0);
  });

  it('holds max_peers without counting the use', async () => {
    const roomId = await newRoom(1);
    const made = await newCode(roomId, { maxUses: 5 });
    await codes.redeem({ code: made.code, displayName: 'One' });
    const err = await expectStatus(codes.redeem({ code: made.code, displayName: 'Two' }), status.FAILED_PRECONDITION);
    expect(errorCode(err)).toBe('ERR_ROOM_FULL');
    expect(await useCount(made.joinCode!.id)).toBe(1);
  });

  it('gives a personal code its fixed identity, and refuses a second peer of it without counting the use', async () => {
    const roomId = await newRoom();
    const made = await newCode(roomId, { identity: 'grace@example.com', maxUses: 2 });
    const r = await codes.redeem({ code: made.code, displayName: 'Grace' });
    expect(r.peer!.identity).toBe('grace@example.com');
    const err = await expectStatus(codes.redeem({ code: made.code, displayName: 'Grace again' }), status.ALREADY_EXISTS);
    expect(errorCode(err)).toBe('ERR_PEER_IDENTITY_TAKEN');
    expect(await useCount(made.joinCode!.id)).toBe(1);
    await t.client.peers.deletePeer({ roomId, peerId: r.peer!.id }, { token });
    expect((await codes.redeem({ code: made.code, displayName: 'Grace' })).peer!.identity).toBe('grace@example.com');
    expect(await useCount(made.joinCode!.id)).toBe(2);
  });

  it('applies the role as it is at redemption, and refuses a code whose role is gone as any invalid code', async () => {
    const roomId = await newRoom();
    await t.client.roles.createRole({ name: 'temporary', permissions: { canSubscribe: true } }, { token });
    const made = await newCode(roomId, { role: 'temporary', maxUses: 3 });
    await t.client.roles.updateRole({ name: 'temporary', permissions: { canPublish: true } }, { token });
    const r = await codes.redeem({ code: made.code, displayName: 'Changed' });
    expect(r.peer!.permissions).toMatchObject({ canPublish: true, canSubscribe: false });
    const verified = await t.client.tokens.verifyPeerToken({ token: r.peerToken, roomId }, { token });
    expect(verified.claims!.permissions).toMatchObject({ canPublish: true, canSubscribe: false });
    // RoleService keeps a role that live codes use...
    const inUse = await expectStatus(t.client.roles.deleteRole({ name: 'temporary' }, { token }), status.FAILED_PRECONDITION);
    expect(errorCode(inUse)).toBe('ERR_ROLE_IN_USE');
    // ...so a code without its role can only come from the database itself: it still redeems nothing.
    await t.db.pool.query("DELETE FROM roles WHERE environment = 'sandbox' AND name = 'temporary'");
    await expectStatus(codes.redeem({ code: made.code, displayName: 'Late' }), status.UNAUTHENTICATED, INVALID);
    expect(await useCount(made.joinCode!.id)).toBe(1);
  });

  it('validates display_name before anything else', async () => {
    const roomId = await newRoom();
    const made = await newCode(roomId);
    await expectStatus(codes.redeem({ code: made.code, displayName: '' }), status.INVALID_ARGUMENT, /display_name: is required/);
    await expectStatus(codes.redeem({ code: made.code, displayName: 'x'.repeat(129) }), status.INVALID_ARGUMENT, /display_name/);
    await expectStatus(codes.redeem({ code: made.code, displayName: 'a\u202Eb' }), status.INVALID_ARGUMENT, /display_name/);
    expect(await useCount(made.joinCode!.id)).toBe(0);
  });
});

describe('RedeemJoinCode with app URLs', () => {
  it('resolves the app URL before the use is counted', async () => {
    const roomId = await newRoom();
    await setAppUrls(t.db.pool, 'sandbox', []);
    const made = await newCode(roomId, { maxUses: 5 });
    const none = await expectStatus(codes.redeem({ code: made.code, displayName: 'A', requireAppUrl: true }), status.FAILED_PRECONDITION);
    expect(errorCode(none)).toBe('ERR_NO_APP_URL');
    expect(await useCount(made.joinCode!.id)).toBe(0);
    await setAppUrls(t.db.pool, 'sandbox', ['https://app.example.com/first', 'https://app.example.com/second']);
    expect((await codes.redeem({ code: made.code, displayName: 'B', requireAppUrl: true })).appUrl).toBe('https://app.example.com/first');
    expect((await codes.redeem({ code: made.code, displayName: 'C' })).appUrl).toBe('https://app.example.com/first');
    const pinned = await newCode(roomId, { appUrl: 'https://app.example.com/second' });
    await setAppUrls(t.db.pool, 'sandbox', ['https://app.example.com/first']);
    const gone = await expectStatus(codes.redeem({ code: pinned.code, displayName: 'D', requireAppUrl: true }), status.INVALID_ARGUMENT);
    expect(errorCode(gone)).toBe('ERR_APP_URL_NOT_ALLOWED');
    expect(await useCount(pinned.joinCode!.id)).toBe(0);
    await setAppUrls(t.db.pool, 'sandbox', []);
  });
});

describe('RedeemJoinCode under the rate limits', () => {
  it('counts every attempt, right or wrong, before the code is looked up', async () => {
    const limited = await startTestRoomgate(
      { ROOMGATE_PURGE_INTERVAL_MS: '3600000', ROOMGATE_RELAY_ENABLED: 'false', ROOMGATE_JOIN_RATE_LIMIT_PER_ADDRESS: '5', ROOMGATE_TRUSTED_PROXIES: '127.0.0.1' },
      { sharing: t },
    );
    const client = joinCodeClient(limited.address);
    try {
      const roomId = await newRoom();
      const made = await newCode(roomId, { kind: JoinCodeKind.JOIN_CODE_KIND_SHORT, expireTime: inSeconds(600), maxUses: 2 });
      const guesser = '198.51.100.7';
      const guess = () => Array.from({ length: 10 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
      for (let i = 0; i < 5; i++) {
        await expectStatus(client.redeem({ code: guess(), displayName: 'Guesser' }, null, guesser), status.UNAUTHENTICATED, INVALID);
      }
      const limitedErr = await expectStatus(client.redeem({ code: guess(), displayName: 'Guesser' }, null, guesser), status.RESOURCE_EXHAUSTED);
      expect(errorCode(limitedErr)).toBe('ERR_JOIN_RATE_LIMITED');
      // The right code fares no better from that address, and no use is counted.
      await expectStatus(client.redeem({ code: made.code, displayName: 'Guesser' }, null, guesser), status.RESOURCE_EXHAUSTED);
      expect(await useCount(made.joinCode!.id)).toBe(0);
      // Another address is counted apart.
      expect((await client.redeem({ code: made.code, displayName: 'Neighbour' }, null, '198.51.100.8')).peer!.name).toBe('Neighbour');
      const metrics = await (await fetch(`http://127.0.0.1:${limited.roomgate.metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^roomgate_join_code_redemptions_total\{outcome="invalid_code"\} 5$/m);
      expect(metrics).toMatch(/^roomgate_join_code_redemptions_total\{outcome="rate_limited"\} 2$/m);
      expect(metrics).toMatch(/^roomgate_join_code_redemptions_total\{outcome="ok"\} 1$/m);
      expect(limited.logs.join('\n')).not.toContain(made.code);
    } finally {
      client.close();
      await limited.close();
    }
  });
});

describe('a redemption as events and audit', () => {
  it('emits PEER_CREATED and JOIN_CODE_REDEEMED, and is audited with the code as actor', async () => {
    const roomId = await newRoom();
    const made = await newCode(roomId, { maxUses: 2 });
    await t.client.events.createWebhookEndpoint(
      { url: receiver.url('/redeemed'), eventTypes: [EventType.EVENT_TYPE_JOIN_CODE_REDEEMED], roomId },
      { token },
    );
    const watch = new Watch(t.client.eventStream, { roomId, types: [EventType.EVENT_TYPE_PEER_CREATED, EventType.EVENT_TYPE_JOIN_CODE_REDEEMED] }, token);
    await watch.subscribed;
    const r = await codes.redeem({ code: made.code, displayName: 'Evented' });
    const [created, redeemed] = await watch.received(2);
    watch.cancel();
    expect(created!.type).toBe(EventType.EVENT_TYPE_PEER_CREATED);
    expect(redeemed!.type).toBe(EventType.EVENT_TYPE_JOIN_CODE_REDEEMED);
    expect(redeemed!.payload).toMatchObject({
      $case: 'joinCodeRedeemed',
      value: { joinCode: { id: made.joinCode!.id, useCount: 1, codeHint: made.code.slice(-4) }, peer: { id: r.peer!.id, name: 'Evented' } },
    });
    expect(JSON.stringify(redeemed)).not.toContain(made.code);
    // The webhook body is the same event in proto JSON.
    await waitUntil(() => receiver.received('/redeemed').length >= 1, 25_000);
    const [delivered] = receiver.received('/redeemed');
    expect(delivered!.body).not.toContain(made.code);
    expect(JSON.parse(delivered!.body)).toMatchObject({
      id: redeemed!.id,
      type: 'EVENT_TYPE_JOIN_CODE_REDEEMED',
      roomId,
      joinCodeRedeemed: { joinCode: { id: made.joinCode!.id, useCount: 1, role: 'speaker' }, peer: { id: r.peer!.id, name: 'Evented' } },
    });

    const audit = new AuditServiceClient(t.address, credentials.createInsecure());
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    const listed = await new Promise<ListAuditEventsResponse>(
      (resolve, reject) =>
        audit.listAuditEvents(
          { pageSize: 10, pageToken: '', actorId: made.joinCode!.id, targetId: '', method: '', startTime: undefined, endTime: undefined },
          md,
          (err, res) => (err ? reject(err) : resolve(res!)),
        ),
    );
    audit.close();
    expect(listed.auditEvents).toHaveLength(1);
    expect(listed.auditEvents[0]).toMatchObject({
      actor: { kind: AuditActorKind.AUDIT_ACTOR_KIND_JOIN_CODE, joinCodeId: made.joinCode!.id },
      method: 'roomgate.v1.JoinCodeService/RedeemJoinCode',
      targets: [
        { type: 'room', id: roomId },
        { type: 'peer', id: r.peer!.id },
        { type: 'role', id: 'speaker' },
        { type: 'join_code', id: made.joinCode!.id },
      ],
    });
  });
});
