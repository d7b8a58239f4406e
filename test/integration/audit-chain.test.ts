// The audit log's hash chain under concurrency: 50 changes made at once
// through 3 `roomgate serve` processes on one database chain one after
// another (the chain head's row lock), so that every hash recomputes with the
// production auditHash from the stored columns, sequences run 1..n without a
// gap, and each previous_hash is the hash before it. The cluster serves a
// database of this file's own (see test/support/cluster.ts).
import { Metadata } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditChainOf, chainProblems } from '../support/audit-records.js';
import { startCluster, type Cluster } from '../support/cluster.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let cluster: Cluster;

beforeAll(async () => {
  db = await createTestDatabase();
  cluster = await startCluster({ databaseUrl: db.connectionString, size: 3, env: { ROOMGATE_RELAY_ENABLED: 'false' }, deadlineMs: 20_000 });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  await db?.drop();
});

const withRequestId = (requestId: string) => {
  const metadata = new Metadata();
  metadata.set('x-request-id', requestId);
  return { metadata };
};

it('50 concurrent changes on 3 instances give an unbroken chain with one record each', async () => {
  const rooms = await Promise.all([0, 1, 2].map(async (i) => (await cluster.client(i).rooms.createRoom({})).room!.id));
  const requestIds = Array.from({ length: 50 }, (_, i) => `chain-${i}-${randomUUID()}`);
  // Three kinds of change, spread round-robin over the instances.
  const results = await cluster.spread<unknown>(50, (client, i) => {
    const settings = withRequestId(requestIds[i]!);
    const roomId = rooms[i % 3]!;
    if (i % 3 === 0) return client.rooms.createRoom({ name: `chained-${i}` }, settings);
    if (i % 3 === 1) return client.peers.createPeer({ roomId, identity: `p-${i}` }, settings);
    return client.rooms.updateRoom({ roomId, metadata: JSON.stringify({ i }) }, settings);
  });
  expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  expect(new Set(results.map((r) => r.instance))).toEqual(new Set([0, 1, 2]));

  expect(await chainProblems(db.pool, 'sandbox')).toEqual([]);
  const chain = await auditChainOf(db.pool, 'sandbox');
  // The cluster's `token create`, the three rooms, and the 50 changes.
  expect(chain).toHaveLength(1 + 3 + 50);
  expect(chain.map((r) => r.sequence)).toEqual(chain.map((_, i) => String(i + 1)));
  const byRequest = new Map<string, number>();
  for (const r of chain) byRequest.set(r.request_id, (byRequest.get(r.request_id) ?? 0) + 1);
  for (const id of requestIds) expect(byRequest.get(id), id).toBe(1);
  expect(await chainProblems(db.pool, 'production')).toEqual([]);
}, 60_000);

it('a record edited in the database no longer recomputes, and the link after it still names the stored hash', async () => {
  // The check the tests rely on must be able to fail: an edited column breaks its own hash.
  await db.pool.query(`UPDATE audit_events SET method = 'roomgate.v1.RoomService/GetRoom' WHERE environment = 'sandbox' AND sequence = 10`);
  expect(await chainProblems(db.pool, 'sandbox')).toEqual(['record 10: hash does not recompute']);
});
