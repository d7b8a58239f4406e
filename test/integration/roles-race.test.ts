// Roles under concurrency, over real gRPC and Postgres: DeleteRole racing
// the insert of a join code that can still be redeemed (as CreateJoinCode
// makes one: the role read first, then the row inserted with its foreign
// key, some holding the insert's transaction open a moment) must never leave
// such a code without its role; CreatePeer and IssuePeerToken racing
// UpdateRole with apply_to_existing_peers must never leave a peer of the
// role with the old permissions or an old token that still verifies, while
// other peers join the same rooms. Each
// round uses a role and room of its own on this file's database (see
// test/support/roomgate.ts).
import { status, type ServiceError } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenInvalidReason } from '../../src/gen/roomgate/v1/token_service.js';
import { inSeconds, joinCodeClient, UNLIMITED_JOINS, type JoinCodeCalls } from '../support/join-codes.js';
import { insertJoinCode, roleIdOf } from '../support/role-join-codes.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let other: TestRoomgate;
let token: string;
let verifier: string;
let side: pg.Pool;
let codes: JoinCodeCalls;
const NONE = { canPublish: false, canSubscribe: false, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false };
const SPEAKER = { ...NONE, canPublish: true, canSubscribe: true };
const HOST = { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true };
let n = 0;
const unique = (prefix: string) => `${prefix}-${Date.now()}-${++n}`;

beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_PURGE_INTERVAL_MS: '3600000', ...UNLIMITED_JOINS });
  other = await startTestRoomgate({ ROOMGATE_PURGE_INTERVAL_MS: '3600000', ROOMGATE_RELAY_ENABLED: 'false' }, { sharing: t });
  token = await t.managementToken('sandbox');
  verifier = await t.managementToken('sandbox', ['verify']);
  // The codes' inserts run on connections of their own, as another instance's would.
  side = new pg.Pool({ connectionString: t.db.connectionString, max: 20 });
  codes = joinCodeClient(t.address);
});
afterAll(async () => {
  codes?.close();
  await side?.end();
  await other?.close();
  await t?.close();
});

const newRoom = async () => (await t.client.rooms.createRoom({}, { token })).room!.id;

/** Inserts a live code for `roleId`, holding its transaction open `holdMs` after the insert. */
async function insertLiveCode(roomId: string, roleName: string, roleId: string, holdMs: number): Promise<'inserted' | 'role gone'> {
  const client = await side.connect();
  try {
    await client.query('BEGIN');
    await insertJoinCode(client, { roomId, roleName, roleId });
    if (holdMs > 0) await sleep(holdMs);
    await client.query('COMMIT');
    return 'inserted';
  } catch (err) {
    await client.query('ROLLBACK');
    if ((err as { code?: string }).code === '23503') return 'role gone';
    throw err;
  } finally {
    client.release();
  }
}

const LIVE_WITHOUT_ROLE = `SELECT count(*)::int AS n FROM join_codes
  WHERE role_id IS NULL AND revoked_at IS NULL AND expires_at > now() AND use_count < max_uses`;

describe('DeleteRole racing a new join code', () => {
  it('never leaves a code that can still be redeemed without its role: one of the two wins, every time', async () => {
    const tally = { deleted: 0, refused: 0 };
    const roomId = await newRoom();
    for (let round = 0; round < 40; round++) {
      const name = unique('raced');
      await t.client.roles.createRole({ name }, { token });
      const roleId = (await roleIdOf(t.db.pool, name))!;
      // Some inserts hold their transaction while DeleteRole runs, some start after it began.
      const holdMs = round % 2 === 0 ? 30 : 0;
      const [code, deleted] = await Promise.all([
        sleep(round % 4 === 1 ? 5 : 0).then(() => insertLiveCode(roomId, name, roleId, holdMs)),
        sleep(round % 4 === 3 ? 5 : 0).then(() =>
          t.client.roles.deleteRole({ name }, { token }).then(
            () => true,
            (err: ServiceError) => {
              expect(err.code, err.details).toBe(status.FAILED_PRECONDITION);
              return false;
            },
          ),
        ),
      ]);
      expect(code === 'inserted', `round ${round}: the code and the deletion cannot both succeed or both fail`).toBe(!deleted);
      tally[deleted ? 'deleted' : 'refused']++;
      const { rows } = await t.db.pool.query<{ n: number }>(LIVE_WITHOUT_ROLE);
      expect(rows[0]!.n, `round ${round}`).toBe(0);
    }
    // Both outcomes happened, so the race was run both ways.
    expect(tally.deleted).toBeGreaterThan(0);
    expect(tally.refused).toBeGreaterThan(0);
  });
});

describe('peers made while UpdateRole applies', () => {
  it('CreatePeer racing apply_to_existing_peers: every peer of the role ends with the new permissions, and no old token verifies', async () => {
    for (let round = 0; round < 5; round++) {
      const role = unique('moving');
      await t.client.roles.createRole({ name: role, permissions: SPEAKER }, { token });
      const rooms = [await newRoom(), await newRoom()];
      const creates = Array.from({ length: 16 }, (_, i) =>
        sleep(i * 2).then(() => t.client.peers.createPeer({ roomId: rooms[i % 2]!, identity: `p${i}`, role }, { token })),
      );
      // Peers without the role join the same rooms meanwhile: they take no role lock, only the rooms'.
      const plain = Array.from({ length: 16 }, (_, i) =>
        sleep(i * 2).then(() => t.client.peers.createPeer({ roomId: rooms[i % 2]!, identity: `x${i}`, permissions: SPEAKER }, { token })),
      );
      const update = sleep(10).then(() =>
        (round % 2 === 0 ? t : other).client.roles.updateRole({ name: role, permissions: HOST, applyToExistingPeers: true }, { token }),
      );
      const [made, updated] = await Promise.all([Promise.all(creates), update, Promise.all(plain)]);
      const { rows } = await t.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM peers p JOIN roles r ON r.id = p.role_id
         WHERE r.name = $1 AND (p.can_publish, p.can_subscribe, p.can_update_metadata, p.can_update_room, p.can_remove_participants)
           IS DISTINCT FROM (r.can_publish, r.can_subscribe, r.can_update_metadata, r.can_update_room, r.can_remove_participants)`,
        [role],
      );
      expect(rows[0]!.n, `round ${round}: peers left with the old permissions`).toBe(0);
      let superseded = 0;
      for (const p of made) {
        const res = await t.client.tokens.verifyPeerToken({ token: p.peerToken }, { token: verifier });
        if (res.valid) expect(res.claims!.permissions).toEqual(HOST);
        else {
          expect(res.reason).toBe(TokenInvalidReason.TOKEN_INVALID_REASON_SUPERSEDED);
          expect(p.peer!.permissions).toEqual(SPEAKER);
          superseded++;
        }
      }
      expect(superseded).toBe(updated.updatedPeerCount);
    }
  });

  it('IssuePeerToken with the role racing apply_to_existing_peers: the issued tokens carry the permissions the peer ends with', async () => {
    const role = unique('issued');
    await t.client.roles.createRole({ name: role, permissions: SPEAKER }, { token });
    const roomId = await newRoom();
    const peers = await Promise.all(Array.from({ length: 12 }, (_, i) => t.client.peers.createPeer({ roomId, identity: `q${i}`, permissions: NONE }, { token })));
    const issues = peers.map((p, i) => sleep(i).then(() => t.client.tokens.issuePeerToken({ roomId, peerId: p.peer!.id, role }, { token })));
    const update = sleep(4).then(() => t.client.roles.updateRole({ name: role, permissions: HOST, applyToExistingPeers: true }, { token }));
    const [issued] = await Promise.all([Promise.all(issues), update]);
    for (const [i, p] of peers.entries()) {
      expect((await t.client.peers.getPeer({ roomId, peerId: p.peer!.id }, { token })).peer).toMatchObject({ role, permissions: HOST });
      const res = await t.client.tokens.verifyPeerToken({ token: issued[i]!.peerToken }, { token: verifier });
      if (res.valid) expect(res.claims!.permissions).toEqual(HOST);
      else expect(res.reason).toBe(TokenInvalidReason.TOKEN_INVALID_REASON_SUPERSEDED);
    }
  });

  it('RedeemJoinCode racing apply_to_existing_peers: every peer the code made ends with the new permissions', async () => {
    for (let round = 0; round < 4; round++) {
      const role = unique('redeemed');
      await t.client.roles.createRole({ name: role, permissions: SPEAKER }, { token });
      const roomId = await newRoom();
      const { code } = await codes.create({ roomId, role, maxUses: 20, expireTime: inSeconds(600) }, token);
      const redeems = Array.from({ length: 12 }, (_, i) => sleep(i * 2).then(() => codes.redeem({ code, displayName: `guest ${i}` })));
      const update = sleep(8).then(() => t.client.roles.updateRole({ name: role, permissions: HOST, applyToExistingPeers: true }, { token }));
      const [made] = await Promise.all([Promise.all(redeems), update]);
      expect(made).toHaveLength(12);
      const { rows } = await t.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM peers p JOIN roles r ON r.id = p.role_id
         WHERE r.name = $1 AND (p.can_publish, p.can_subscribe, p.can_update_metadata, p.can_update_room, p.can_remove_participants)
           IS DISTINCT FROM (r.can_publish, r.can_subscribe, r.can_update_metadata, r.can_update_room, r.can_remove_participants)`,
        [role],
      );
      expect(rows[0]!.n, `round ${round}: peers left with the old permissions`).toBe(0);
    }
  });
});
