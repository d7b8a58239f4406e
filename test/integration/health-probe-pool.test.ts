// The database probe behind grpc.health.v1 has a connection of its own: a
// serving pool busy to its last connection is load, not an outage, and must
// not turn health NOT_SERVING (which would take every instance under load out
// of its load balancer at once). A full roomgate (startTestRoomgate) on this
// file's own database; the test checks out every connection of its pool.
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, Metadata } from '@grpc/grpc-js';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from '../../src/gen/grpc/health/v1/health.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
beforeAll(async () => {
  t = await startTestRoomgate();
});
afterAll(() => t?.close());

describe('health probe', () => {
  it('stays SERVING while every connection of the serving pool is busy', async () => {
    const health = new HealthClient(t.address, credentials.createInsecure());
    const check = () =>
      new Promise<Serving | string>((resolve) =>
        health.check({ service: '' }, new Metadata(), { deadline: Date.now() + 2_000 }, (err, res) => resolve(err ? `error ${err.code}` : res.status)),
      );
    const pool = t.roomgate.database.pool;
    const held: pg.PoolClient[] = [];
    try {
      expect(await check()).toBe(Serving.SERVING);
      for (let i = 0; i < (pool.options.max ?? 10); i++) held.push(await pool.connect());
      // Longer than the pool's 5 s wait for a connection plus a probe interval:
      // a probe on this pool would have failed by then.
      const seen = new Set<Serving | string>();
      const until = Date.now() + 7_500;
      while (Date.now() < until) {
        seen.add(await check());
        await sleep(250);
      }
      expect([...seen]).toEqual([Serving.SERVING]);
    } finally {
      for (const c of held) c.release();
      health.close();
    }
  }, 30_000);
});
