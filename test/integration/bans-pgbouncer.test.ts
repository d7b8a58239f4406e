// The bans race of bans-race.test.ts through PgBouncer 1.18 in transaction
// mode (test/support/pgbouncer.ts), where only transaction-scoped state
// survives: the identity lock is a transaction-scoped advisory lock, so it
// holds. Two roomgates serve one database of this file's own through the
// bouncer (ROOMGATE_DB_TRANSACTION_POOLING=true) and LISTEN on it directly.
// Without the binary the test skips (pooled-roomgates.ts).
import { expect, it } from 'vitest';
import { bannedPeers, eventsOutOfRoomOrder, raceBansAndJoins } from '../support/ban-race.js';
import { usePooledRoomgates } from '../support/pooled-roomgates.js';

const pooled = await usePooledRoomgates('bans');

it('never lets a banned identity in through a transaction pooler either', async () => {
  const { servers: [a, b], bouncer, db } = pooled;
  const token = await a.managementToken('sandbox');
  const before = await bouncer.stats(db.name);
  const outcomes = await raceBansAndJoins({ banner: a.client, joiner: b.client, token, rounds: 20, rooms: 3, label: 'pooled' });
  expect(await bannedPeers(db.pool)).toEqual([]);
  expect(await eventsOutOfRoomOrder(db.pool)).toEqual([]);
  expect(outcomes.refused + outcomes.joinedThenDeleted, JSON.stringify(outcomes)).toBeGreaterThan(0);
  expect(bouncer.alive(), bouncer.log()).toBe(true);
  // The calls went through the bouncer.
  expect((await bouncer.stats(db.name)).transactions - before.transactions).toBeGreaterThan(100);
});
