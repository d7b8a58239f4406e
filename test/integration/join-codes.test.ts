// JoinCodeService's management RPCs over real gRPC and Postgres: create, get,
// list (newest first, paged, by room), revoke (idempotent), every validation
// rule of CreateJoinCode, the per-environment quota (on a second instance with
// a small quota, sharing the database), environment isolation, scopes, and
// that the code itself is returned once and is never in a listing, a log line,
// an audit record, an event, or the database (only its hash). The server runs
// on a database of this file's own (see test/support/roomgate.ts).
import { createHash } from 'node:crypto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_CACHE } from '../../src/domain/cache-invalidator.js';
import { PurgeScheduler } from '../../src/domain/purge-scheduler.js';
import { JoinCodeKind } from '../../src/gen/roomgate/v1/resources.js';
import { PgJoinCodeStore } from '../../src/store/join-code-store.js';
import { PgPurgeStore } from '../../src/store/purge-store.js';
import { inSeconds, joinCodeClient, setAppUrls, UNLIMITED_JOINS, type JoinCodeCalls } from '../support/join-codes.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let small: TestRoomgate;
let codes: JoinCodeCalls;
let smallCodes: JoinCodeCalls;
let admin: string;
let rooms: string;
let reader: string;
let verifier: string;
let production: string;
const MISSING = '00000000-0000-4000-8000-00000000dead';
/** Every code any test was given, to look for where it must not be. */
const issued: string[] = [];

beforeAll(async () => {
  t = await startTestRoomgate({ ...UNLIMITED_JOINS, ROOMGATE_PURGE_INTERVAL_MS: '3600000' });
  small = await startTestRoomgate(
    { ...UNLIMITED_JOINS, ROOMGATE_PURGE_INTERVAL_MS: '3600000', ROOMGATE_RELAY_ENABLED: 'false', ROOMGATE_MAX_JOIN_CODES_PER_ENVIRONMENT: '3' },
    { sharing: t },
  );
  codes = joinCodeClient(t.address);
  smallCodes = joinCodeClient(small.address);
  admin = await t.managementToken('sandbox');
  rooms = await t.managementToken('sandbox', ['rooms']);
  reader = await t.managementToken('sandbox', ['read']);
  verifier = await t.managementToken('sandbox', ['verify']);
  production = await t.managementToken('production');
  await t.client.roles.createRole({ name: 'guest', permissions: { canSubscribe: true } }, { token: admin });
  await t.client.roles.createRole({ name: 'producer' }, { token: production });
});
afterAll(async () => {
  codes?.close();
  smallCodes?.close();
  await small?.close();
  await t?.close();
});

const newRoom = async (token = admin) => (await t.client.rooms.createRoom({}, { token })).room!.id;
const create = async (roomId: string, extra: Record<string, unknown> = {}, token = admin) => {
  const made = await codes.create({ roomId, role: 'guest', expireTime: inSeconds(3600), ...extra }, token);
  issued.push(made.code);
  return made;
};
const errorCode = (err: ServiceError) => err.metadata.get('roomgate-error-code')[0];

describe('CreateJoinCode', () => {
  it('returns the code once, with its listing entry', async () => {
    const roomId = await newRoom();
    const expireTime = inSeconds(7200);
    const made = await create(roomId, { expireTime, identity: 'ada', description: 'for Ada' });
    expect(made.code).toMatch(/^rgj_[A-Za-z0-9_-]{32}$/);
    expect(made.joinUrl).toBe(''); // no ROOMGATE_PUBLIC_URL here
    expect(made.joinCode).toMatchObject({
      roomId,
      role: 'guest',
      kind: JoinCodeKind.JOIN_CODE_KIND_LINK,
      codeHint: made.code.slice(-4),
      identity: 'ada',
      maxUses: 1,
      useCount: 0,
      revoked: false,
      revokeTime: undefined,
      appUrl: '',
      description: 'for Ada',
    });
    expect(made.joinCode!.expireTime).toEqual(expireTime);
    expect(Math.abs(made.joinCode!.createTime!.getTime() - Date.now())).toBeLessThan(60_000);
    const got = await codes.get({ id: made.joinCode!.id }, admin);
    expect(got.joinCode).toEqual(made.joinCode);
    expect(JSON.stringify(got)).not.toContain(made.code);
  });

  it('makes short codes, which may live a day at most by default', async () => {
    const roomId = await newRoom();
    const made = await create(roomId, { kind: JoinCodeKind.JOIN_CODE_KIND_SHORT, expireTime: inSeconds(86_000), maxUses: 20 });
    expect(made.code).toMatch(/^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
    expect(made.joinCode).toMatchObject({ kind: JoinCodeKind.JOIN_CODE_KIND_SHORT, maxUses: 20, codeHint: made.code.slice(-4) });
    const err = await expectStatus(
      create(roomId, { kind: JoinCodeKind.JOIN_CODE_KIND_SHORT, expireTime: inSeconds(86_400 + 3600) }),
      status.INVALID_ARGUMENT,
      /expire_time: .*ROOMGATE_SHORT_JOIN_CODE_MAX_TTL_SECONDS/,
    );
    expect(errorCode(err)).toBe('ERR_INVALID_ARGUMENT');
  });

  it('takes an app URL only from the environment allow-list', async () => {
    const roomId = await newRoom();
    const err = await expectStatus(create(roomId, { appUrl: 'https://app.example.com/' }), status.INVALID_ARGUMENT, /^app_url: /);
    expect(errorCode(err)).toBe('ERR_APP_URL_NOT_ALLOWED');
    await setAppUrls(t.db.pool, 'sandbox', ['https://app.example.com/']);
    expect((await create(roomId, { appUrl: 'https://app.example.com/' })).joinCode!.appUrl).toBe('https://app.example.com/');
    // Exactly: no prefix, case or trailing-slash games.
    await expectStatus(create(roomId, { appUrl: 'https://app.example.com' }), status.INVALID_ARGUMENT, /^app_url: /);
    await expectStatus(create(roomId, { appUrl: 'https://APP.example.com/' }), status.INVALID_ARGUMENT, /^app_url: /);
    await setAppUrls(t.db.pool, 'sandbox', []);
  });

  it('refuses each invalid field with a status that names it', async () => {
    const roomId = await newRoom();
    const cases: [Record<string, unknown>, number, RegExp, string][] = [
      [{ roomId: MISSING }, status.NOT_FOUND, /room not found/, 'ERR_ROOM_NOT_FOUND'],
      [{ roomId: 'nope' }, status.INVALID_ARGUMENT, /^room_id: must be a UUID/, 'ERR_INVALID_ARGUMENT'],
      [{ role: 'nobody' }, status.NOT_FOUND, /role not found/, 'ERR_ROLE_NOT_FOUND'],
      [{ role: '' }, status.INVALID_ARGUMENT, /^role: is required/, 'ERR_INVALID_ARGUMENT'],
      [{ role: 'producer' }, status.NOT_FOUND, /role not found/, 'ERR_ROLE_NOT_FOUND'], // production's role
      [{ expireTime: undefined }, status.INVALID_ARGUMENT, /^expire_time: is required/, 'ERR_INVALID_ARGUMENT'],
      [{ expireTime: inSeconds(-5) }, status.INVALID_ARGUMENT, /^expire_time: must be in the future/, 'ERR_INVALID_ARGUMENT'],
      [{ expireTime: inSeconds(31 * 86_400) }, status.INVALID_ARGUMENT, /ROOMGATE_JOIN_CODE_MAX_TTL_SECONDS/, 'ERR_INVALID_ARGUMENT'],
      [{ maxUses: 10_001 }, status.INVALID_ARGUMENT, /^max_uses: must be between 1 and 10000/, 'ERR_INVALID_ARGUMENT'],
      [{ identity: 'x'.repeat(129) }, status.INVALID_ARGUMENT, /^identity: /, 'ERR_INVALID_ARGUMENT'],
      [{ identity: 'eve\u202Egpj.exe' }, status.INVALID_ARGUMENT, /^identity: .*U\+202E/, 'ERR_INVALID_ARGUMENT'],
      [{ description: 'd'.repeat(513) }, status.INVALID_ARGUMENT, /^description: must be at most 512/, 'ERR_INVALID_ARGUMENT'],
      [{ description: 'a\u0000b' }, status.INVALID_ARGUMENT, /^description: /, 'ERR_INVALID_ARGUMENT'],
      [{ kind: 7 }, status.INVALID_ARGUMENT, /^kind: /, 'ERR_INVALID_ARGUMENT'],
    ];
    for (const [extra, code, details, reason] of cases) {
      const err = await expectStatus(create(roomId, extra), code, details);
      expect(errorCode(err), JSON.stringify(extra)).toBe(reason);
    }
    expect((await codes.list({ roomId }, admin)).joinCodes).toEqual([]);
    // The limits themselves are accepted.
    const edge = await create(roomId, { maxUses: 10_000, expireTime: inSeconds(30 * 86_400 - 60), description: 'd'.repeat(512) });
    expect(edge.joinCode!.maxUses).toBe(10_000);
  });

  it('holds ROOMGATE_MAX_JOIN_CODES_PER_ENVIRONMENT, counting only codes that can still be redeemed', async () => {
    const roomId = (await t.client.rooms.createRoom({}, { token: production })).room!.id;
    const make = () => smallCodes.create({ roomId, role: 'producer', expireTime: inSeconds(600) }, production);
    const made = [await make(), await make(), await make()];
    issued.push(...made.map((m) => m.code));
    const err = await expectStatus(make(), status.RESOURCE_EXHAUSTED, /ROOMGATE_MAX_JOIN_CODES_PER_ENVIRONMENT/);
    expect(errorCode(err)).toBe('ERR_JOIN_CODE_QUOTA_EXCEEDED');
    await smallCodes.revoke({ id: made[0]!.joinCode!.id }, production);
    issued.push((await make()).code);
    await expectStatus(make(), status.RESOURCE_EXHAUSTED);
    // The count is production's alone: sandbox holds more than 3 live codes by now.
    const sandbox = (await codes.list({ pageSize: 100 }, admin)).joinCodes.filter((c) => !c.revoked && c.useCount < c.maxUses);
    expect(sandbox.length).toBeGreaterThan(3);
  });

  it('holds ROOMGATE_MAX_SHORT_JOIN_CODES_PER_ENVIRONMENT for short codes only', async () => {
    // Production holds live link codes only (the test above): a cap of 1 short code leaves room for one.
    const capped = await startTestRoomgate(
      { ...UNLIMITED_JOINS, ROOMGATE_PURGE_INTERVAL_MS: '3600000', ROOMGATE_RELAY_ENABLED: 'false', ROOMGATE_MAX_SHORT_JOIN_CODES_PER_ENVIRONMENT: '1' },
      { sharing: t },
    );
    const cappedCodes = joinCodeClient(capped.address);
    try {
      const roomId = (await t.client.rooms.createRoom({}, { token: production })).room!.id;
      const make = (kind: JoinCodeKind) => cappedCodes.create({ roomId, role: 'producer', expireTime: inSeconds(600), kind }, production);
      const first = await make(JoinCodeKind.JOIN_CODE_KIND_SHORT);
      issued.push(first.code);
      const err = await expectStatus(make(JoinCodeKind.JOIN_CODE_KIND_SHORT), status.RESOURCE_EXHAUSTED, /ROOMGATE_MAX_SHORT_JOIN_CODES_PER_ENVIRONMENT/);
      expect(errorCode(err)).toBe('ERR_JOIN_CODE_QUOTA_EXCEEDED');
      // A link code is still made; a revoked short code frees its place.
      issued.push((await make(JoinCodeKind.JOIN_CODE_KIND_LINK)).code);
      await cappedCodes.revoke({ id: first.joinCode!.id }, production);
      issued.push((await make(JoinCodeKind.JOIN_CODE_KIND_SHORT)).code);
    } finally {
      cappedCodes.close();
      await capped.close();
    }
  });
});

describe('GetJoinCode, ListJoinCodes and RevokeJoinCode', () => {
  it('lists newest first, page by page, for the environment or one room', async () => {
    const a = await newRoom();
    const b = await newRoom();
    const inA = [await create(a), await create(a), await create(a)];
    const inB = [await create(b), await create(b)];
    const pages: string[][] = [];
    let pageToken = '';
    do {
      const page = await codes.list({ roomId: a, pageSize: 2, pageToken }, reader);
      pages.push(page.joinCodes.map((c) => c.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(pages).toEqual([[inA[2]!.joinCode!.id, inA[1]!.joinCode!.id], [inA[0]!.joinCode!.id]]);
    const all = (await codes.list({ pageSize: 100 }, reader)).joinCodes.map((c) => c.id);
    const mine = [...inA, ...inB].map((m) => m.joinCode!.id).reverse();
    expect(all.filter((id) => mine.includes(id))).toEqual(mine);
    // A page token is bound to its filter.
    const first = await codes.list({ roomId: a, pageSize: 1 }, reader);
    await expectStatus(codes.list({ roomId: b, pageSize: 1, pageToken: first.nextPageToken }, reader), status.INVALID_ARGUMENT, /page_token/);
    await expectStatus(codes.list({ pageSize: 101 }, reader), status.INVALID_ARGUMENT, /page_size/);
    await expectStatus(codes.list({ roomId: 'x' }, reader), status.INVALID_ARGUMENT, /room_id/);
  });

  it('revokes at once and idempotently', async () => {
    const roomId = await newRoom();
    const made = await create(roomId, { maxUses: 3 });
    const revoked = (await codes.revoke({ id: made.joinCode!.id }, rooms)).joinCode!;
    expect(revoked.revoked).toBe(true);
    expect(revoked.revokeTime).toBeInstanceOf(Date);
    const again = (await codes.revoke({ id: made.joinCode!.id }, rooms)).joinCode!;
    expect(again).toEqual(revoked);
    await expectStatus(codes.redeem({ code: made.code, displayName: 'Too late' }), status.UNAUTHENTICATED);
    await expectStatus(codes.revoke({ id: MISSING }, rooms), status.NOT_FOUND, /join code not found/);
    await expectStatus(codes.get({ id: MISSING }, reader), status.NOT_FOUND, /join code not found/);
    await expectStatus(codes.get({ id: '' }, reader), status.INVALID_ARGUMENT, /^id: is required/);
  });

  it('keeps environments apart', async () => {
    const roomId = await newRoom();
    const made = await create(roomId);
    await expectStatus(codes.get({ id: made.joinCode!.id }, production), status.NOT_FOUND);
    await expectStatus(codes.revoke({ id: made.joinCode!.id }, production), status.NOT_FOUND);
    expect((await codes.list({ pageSize: 100 }, production)).joinCodes.map((c) => c.id)).not.toContain(made.joinCode!.id);
    expect((await codes.list({ roomId, pageSize: 100 }, production)).joinCodes).toEqual([]);
    await expectStatus(codes.create({ roomId, role: 'producer', expireTime: inSeconds(60) }, production), status.NOT_FOUND, /room not found/);
    expect((await codes.get({ id: made.joinCode!.id }, admin)).joinCode!.revoked).toBe(false);
  });

  it('admits the scopes the proto names', async () => {
    const roomId = await newRoom();
    const made = await create(roomId, {}, rooms);
    await codes.get({ id: made.joinCode!.id }, reader);
    await codes.list({}, reader);
    await expectStatus(create(roomId, {}, reader), status.PERMISSION_DENIED, /lacks the 'rooms' scope/);
    await expectStatus(codes.revoke({ id: made.joinCode!.id }, reader), status.PERMISSION_DENIED);
    await expectStatus(codes.get({ id: made.joinCode!.id }, verifier), status.PERMISSION_DENIED);
    await expectStatus(codes.list({}, verifier), status.PERMISSION_DENIED);
    await expectStatus(codes.get({ id: made.joinCode!.id }, null), status.UNAUTHENTICATED);
    const peer = await t.client.peers.createPeer({ roomId, permissions: { canUpdateRoom: true, canRemoveParticipants: true } }, { token: admin });
    await expectStatus(codes.list({ roomId }, peer.peerToken), status.PERMISSION_DENIED, /needs a management token/);
    await expectStatus(create(roomId, {}, peer.peerToken), status.PERMISSION_DENIED);
  });
});

describe('the purge', () => {
  it('deletes codes dead for longer than the retention, and only those', async () => {
    const roomId = await newRoom();
    const ids = async (extra: Record<string, unknown> = {}) => (await create(roomId, extra)).joinCode!.id;
    const [expiredLong, revokedLong, usedUpLong, expiredLately, revokedLately, live] = [
      await ids(), await ids(), await ids(), await ids(), await ids(), await ids({ maxUses: 2 }),
    ];
    const usedUp = await create(roomId, { maxUses: 1 });
    await codes.redeem({ code: usedUp.code, displayName: 'Once' });
    const shift = (id: string, column: string, age: string) =>
      t.db.pool.query(`UPDATE join_codes SET ${column} = now() - $2::interval WHERE id = $1`, [id, age]);
    await shift(expiredLong, 'expires_at', '31 days');
    await shift(revokedLong, 'revoked_at', '31 days');
    await t.db.pool.query("UPDATE join_codes SET use_count = 1, max_uses = 1, used_up_at = now() - interval '31 days' WHERE id = $1", [usedUpLong]);
    await shift(expiredLately, 'expires_at', '29 days');
    await shift(revokedLately, 'revoked_at', '1 hour');
    const usedUpAt = await t.db.pool.query<{ used_up_at: Date | null }>('SELECT used_up_at FROM join_codes WHERE id = $1', [usedUp.joinCode!.id]);
    expect(Math.abs(usedUpAt.rows[0]!.used_up_at!.getTime() - Date.now())).toBeLessThan(60_000);
    const purge = new PurgeScheduler(new PgPurgeStore(t.db.pool), NO_CACHE, {
      intervalMs: 3_600_000,
      idempotencyKeyTtlSeconds: 86_400,
      eventRetentionSeconds: 86_400,
      joinCodes: { store: new PgJoinCodeStore(t.db.pool), retentionSeconds: t.config.joinCodes.retentionSeconds },
      onError: (err) => {
        throw err;
      },
    });
    expect(t.config.joinCodes.retentionSeconds).toBe(30 * 86_400);
    expect(await purge.runOnce()).toMatchObject({ joinCodes: 3 });
    const left = await t.db.pool.query<{ id: string }>('SELECT id FROM join_codes WHERE room_id = $1', [roomId]);
    expect(left.rows.map((r) => r.id).sort()).toEqual([expiredLately, revokedLately, live, usedUp.joinCode!.id].sort());
    expect(await purge.runOnce()).toMatchObject({ joinCodes: 0 });
  });
});

describe('the code itself', () => {
  it('is kept only as a hash, and never reaches a log, an audit record or an event', async () => {
    const roomId = await newRoom();
    const link = await create(roomId, { maxUses: 2 });
    const short = await create(roomId, { kind: JoinCodeKind.JOIN_CODE_KIND_SHORT, expireTime: inSeconds(600), maxUses: 2 });
    await codes.redeem({ code: link.code, displayName: 'Logged' });
    await codes.redeem({ code: short.code.toUpperCase(), displayName: 'Logged' });
    await expectStatus(codes.redeem({ code: link.code.slice(0, -1) + 'x', displayName: 'Typo' }), status.UNAUTHENTICATED);
    const sha256 = (s: string) => createHash('sha256').update(s).digest();
    const stored = await t.db.pool.query<{ code_hash: Buffer }>('SELECT code_hash FROM join_codes WHERE id = ANY($1::uuid[])', [
      [link.joinCode!.id, short.joinCode!.id],
    ]);
    const hashes = stored.rows.map((r) => r.code_hash.toString('hex'));
    expect(hashes).toContain(sha256(link.code).toString('hex'));
    // The short code's hash is keyed: its plain SHA-256, in any spelling, is not stored.
    for (const spelling of [short.code, short.code.replace(/-/g, '')]) expect(hashes).not.toContain(sha256(spelling).toString('hex'));

    const everything = [
      t.logs.join('\n'),
      small.logs.join('\n'),
      JSON.stringify((await t.db.pool.query('SELECT * FROM audit_events')).rows),
      JSON.stringify((await t.db.pool.query('SELECT * FROM events')).rows),
      JSON.stringify((await t.db.pool.query('SELECT id, environment, room_id, role_name, kind, code_hint, identity, app_url, description FROM join_codes')).rows),
      JSON.stringify(await codes.list({ pageSize: 100 }, admin)),
    ].join('\n');
    expect(issued.length).toBeGreaterThan(15);
    for (const code of issued) {
      expect(everything).not.toContain(code);
      expect(everything).not.toContain(code.replace(/-/g, ''));
    }
  });
});
