// The role lock through PgBouncer 1.18 in transaction mode
// (test/support/pgbouncer.ts), where only transaction-scoped state survives:
// lockRole is a transaction-scoped advisory lock, so CreatePeer with a role on
// one roomgate and UpdateRole with apply_to_existing_peers on another still
// leave no peer of the role with the permissions it replaced. Two roomgates
// serve one database of this file's own through the bouncer
// (ROOMGATE_DB_TRANSACTION_POOLING=true) and LISTEN on it directly; without
// the binary the test skips (pooled-roomgates.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { TokenInvalidReason } from '../../src/gen/roomgate/v1/token_service.js';
import { usePooledRoomgates } from '../support/pooled-roomgates.js';

const pooled = await usePooledRoomgates('roles');

const NONE = { canPublish: false, canSubscribe: false, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false };
const SPEAKER = { ...NONE, canPublish: true, canSubscribe: true };
const HOST = { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true };

it('never leaves a peer of the role with replaced permissions through a transaction pooler either', async () => {
  const { servers: [a, b], bouncer, db } = pooled;
  const token = await a.managementToken('sandbox');
  const verifier = await a.managementToken('sandbox', ['verify']);
  const before = await bouncer.stats(db.name);
  for (let round = 0; round < 4; round++) {
    const role = `pooled-${round}`;
    await a.client.roles.createRole({ name: role, permissions: SPEAKER }, { token });
    const rooms = [(await a.client.rooms.createRoom({}, { token })).room!.id, (await b.client.rooms.createRoom({}, { token })).room!.id];
    const creates = Array.from({ length: 12 }, (_, i) =>
      sleep(i * 2).then(() => b.client.peers.createPeer({ roomId: rooms[i % 2]!, identity: `p${i}`, role }, { token })),
    );
    const update = sleep(8).then(() => a.client.roles.updateRole({ name: role, permissions: HOST, applyToExistingPeers: true }, { token }));
    const [made] = await Promise.all([Promise.all(creates), update]);
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM peers p JOIN roles r ON r.id = p.role_id
       WHERE r.name = $1 AND (p.can_publish, p.can_subscribe, p.can_update_metadata, p.can_update_room, p.can_remove_participants)
         IS DISTINCT FROM (r.can_publish, r.can_subscribe, r.can_update_metadata, r.can_update_room, r.can_remove_participants)`,
      [role],
    );
    expect(rows[0]!.n, `round ${round}`).toBe(0);
    for (const p of made) {
      const res = await b.client.tokens.verifyPeerToken({ token: p.peerToken }, { token: verifier });
      if (res.valid) expect(res.claims!.permissions).toEqual(HOST);
      else expect(res.reason).toBe(TokenInvalidReason.TOKEN_INVALID_REASON_SUPERSEDED);
    }
  }
  expect(bouncer.alive(), bouncer.log()).toBe(true);
  // The calls went through the bouncer.
  expect((await bouncer.stats(db.name)).transactions - before.transactions).toBeGreaterThan(50);
});
