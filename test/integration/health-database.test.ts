// grpc.health.v1 follows the database: NOT_SERVING while Postgres is down,
// SERVING again once it is back, with no restart of roomgate. Runs on an
// embedded Postgres of its own, so it can be stopped without disturbing
// other test files.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createRoomgateClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config.js';
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from '../../src/gen/grpc/health/v1/health.js';
import { startRoomgate, type Roomgate } from '../../src/main.js';
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../src/store/embedded-postgres.js';
import { expectStatus, mintTestToken } from '../support/roomgate.js';
import { freePort } from '../support/server-process.js';
import { waitUntil } from '../support/wait-until.js';

let dir: string | undefined;
let pgServer: EmbeddedPostgresServer | undefined;
let roomgate: Roomgate | undefined;

afterAll(async () => {
  await roomgate?.close();
  await pgServer?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function check(client: InstanceType<typeof HealthClient>, service = ''): Promise<Serving | string> {
  return new Promise((resolve) =>
    client.check({ service }, new Metadata(), { deadline: Date.now() + 2_000 }, (err, res) =>
      resolve(err ? `error ${err.code}` : res.status),
    ),
  );
}

describe('health and the database', () => {
  it('goes NOT_SERVING while Postgres is down and SERVING again after it comes back', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'roomgate-health-'));
    // As root, embedded Postgres runs as the postgres user, which must reach the directory.
    await chmod(dir, 0o755);
    const port = await freePort();
    pgServer = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), port });
    const config = loadConfig({
      DATABASE_URL: pgServer.connectionString,
      ROOMGATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ROOMGATE_GRPC_ADDRESS: '127.0.0.1:0',
      ROOMGATE_METRICS_ADDRESS: 'off',
      ROOMGATE_HTTP_ADDRESS: 'off',
      ROOMGATE_SHUTDOWN_GRACE_SECONDS: '1',
    });
    roomgate = await startRoomgate(config, pino({ level: 'silent' }));
    const address = `127.0.0.1:${roomgate.port}`;
    const health = new HealthClient(address, credentials.createInsecure());
    const token = await mintTestToken(roomgate.database.pool);
    const client = createRoomgateClient(address, { token });
    try {
      expect(await check(health)).toBe(Serving.SERVING);
      expect(await check(health, 'roomgate.v1.RoomService')).toBe(Serving.SERVING);

      await pgServer.stop();
      await waitUntil(async () => (await check(health)) === Serving.NOT_SERVING, 15_000, 100);
      expect(await check(health, 'roomgate.v1.PeerService')).toBe(Serving.NOT_SERVING);
      const started = Date.now();
      await expectStatus(client.rooms.createRoom({}, { deadlineMs: 10_000 }), status.UNAVAILABLE, /database is unavailable/);
      expect(Date.now() - started).toBeLessThan(6_000);

      pgServer = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), port });
      await waitUntil(async () => (await check(health)) === Serving.SERVING, 15_000, 100);
      const { room } = await client.rooms.createRoom({ name: 'after-restart' });
      expect(room!.name).toBe('after-restart');
    } finally {
      client.close();
      health.close();
    }
  }, 90_000);
});
