// SIGTERM with a call in flight: health goes NOT_SERVING, new calls are
// refused, the call in flight completes, and the process exits 0. Open
// streams (Health.Watch, WatchEvents) end with a status at once rather than
// holding shutdown for the whole grace period.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoomgateClient } from '../../src/client/index.js';
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from '../../src/gen/grpc/health/v1/health.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { mintTestToken } from '../support/roomgate.js';
import { serveRoomgate } from '../support/server-process.js';
import { statusDetailsOf } from '../support/status-details.js';
import { Watch } from '../support/watch.js';

let db: TestDatabase;
// One key for the file: the first server seals the database's signing key with it.
const keyEncryptionKey = randomBytes(32).toString('base64');
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

describe('graceful shutdown', () => {
  it('drains a call in flight after SIGTERM and exits 0', async () => {
    const server = await serveRoomgate({
      DATABASE_URL: db.connectionString,
      ROOMGATE_KEY_ENCRYPTION_KEY: keyEncryptionKey,
      ROOMGATE_SHUTDOWN_GRACE_SECONDS: '20',
    });
    const token = await mintTestToken(db.pool);
    const client = createRoomgateClient(server.address, { token, deadlineMs: 30_000 });
    const health = new HealthClient(server.address, credentials.createInsecure());
    const check = () =>
      new Promise<Serving | string>((resolve) =>
        health.check({ service: '' }, new Metadata(), { deadline: Date.now() + 2_000 }, (err, res) =>
          resolve(err ? `error ${err.code}` : res.status),
        ),
      );
    const { room } = await client.rooms.createRoom({});
    // Hold the room's row lock so UpdateRoom stays in flight until we let go.
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [room!.id]);
      const inFlight = client.rooms.updateRoom({ roomId: room!.id, metadata: '{"drained":true}' });
      await sleep(300);
      expect(await check()).toBe(Serving.SERVING);
      // A Watch opened before the signal sees the switch: after it, the
      // server takes no new calls, Check included.
      const seen: Serving[] = [];
      const watch = health.watch({ service: '' });
      watch.on('data', (r: { status: Serving }) => seen.push(r.status));
      watch.on('error', () => undefined);
      await sleep(200);
      const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
      server.child.kill('SIGTERM');
      await sleep(500);
      expect(seen).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
      const fresh = createRoomgateClient(server.address, { token, deadlineMs: 3_000 });
      await expect(fresh.rooms.listRooms({})).rejects.toMatchObject({ code: 14 });
      fresh.close();
      watch.cancel();
      await holder.query('COMMIT');
      expect((await inFlight).room!.metadata).toBe('{"drained":true}');
      expect(await exited).toBe(0);
      // "stopped" comes last, once close() has returned: the drain included
      // the call held in flight for at least the 500 ms slept above.
      const logged = server
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; drainMs?: number });
      expect(logged.at(-1)).toMatchObject({ msg: 'roomgate stopped', drainMs: expect.any(Number) });
      expect(logged.at(-1)!.drainMs).toBeGreaterThanOrEqual(500);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
      client.close();
      health.close();
      await server.stop();
    }
  }, 60_000);

  it('ends open Health.Watch and WatchEvents streams with UNAVAILABLE at SIGTERM and exits well within the grace', async () => {
    const server = await serveRoomgate({
      DATABASE_URL: db.connectionString,
      ROOMGATE_KEY_ENCRYPTION_KEY: keyEncryptionKey,
      ROOMGATE_SHUTDOWN_GRACE_SECONDS: '20',
    });
    const token = await mintTestToken(db.pool);
    const client = createRoomgateClient(server.address, { token });
    const health = new HealthClient(server.address, credentials.createInsecure());
    try {
      const seen: Serving[] = [];
      const healthWatch = health.watch({ service: '' });
      healthWatch.on('data', (r: { status: Serving }) => seen.push(r.status));
      const healthEnded = new Promise<ServiceError>((resolve) => healthWatch.on('error', resolve));
      const events = new Watch(client.eventStream, {}, token);
      await events.subscribed;
      await client.rooms.createRoom({});
      await events.received(1);
      const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
      const signalled = Date.now();
      server.child.kill('SIGTERM');
      const healthErr = await healthEnded;
      expect(healthErr.code).toBe(status.UNAVAILABLE);
      expect(seen).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
      const eventsErr = await events.ended(5_000);
      expect(eventsErr.code).toBe(status.UNAVAILABLE);
      expect(statusDetailsOf(eventsErr.metadata).errorInfo).toMatchObject([
        { reason: 'ERR_SHUTTING_DOWN', metadata: { resumeCursor: events.lastCursor } },
      ]);
      expect(await exited).toBe(0);
      // With a 20 s grace: the streams no longer hold the drain open.
      expect(Date.now() - signalled).toBeLessThan(3_000);
    } finally {
      client.close();
      health.close();
      await server.stop();
    }
  }, 60_000);
});
