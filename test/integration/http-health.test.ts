// /healthz and /readyz of a real roomgate, for load balancers that speak only
// HTTP. Its database is reached through a TCP proxy this file can cut, so
// Postgres "goes away" for this roomgate alone: /readyz follows the same probe
// as grpc.health.v1 (503 while the database is unreachable, 200 once it is
// back), /healthz stays 200 throughout, and at shutdown /readyz says 503 while
// gRPC calls drain.
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import { credentials, Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../src/config.js';
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from '../../src/gen/grpc/health/v1/health.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

/** A TCP proxy to Postgres that can refuse everything, as an unreachable database would. */
async function cuttableProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((down) => {
    if (cut) return down.destroy();
    const up = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [up, down]) {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => sockets.delete(s));
    }
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    mend() {
      cut = false;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let db: TestDatabase;
let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
let t: TestRoomgate;
beforeAll(async () => {
  db = await createTestDatabase();
  proxy = await cuttableProxy(new URL(db.connectionString));
  const viaProxy = new URL(db.connectionString);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  // `sharing`: this file owns the database and drops it itself.
  t = await startTestRoomgate({ DATABASE_URL: viaProxy.href }, { sharing: { db, config: { keyEncryptionKey: randomBytes(32) } as Config } });
});
afterAll(async () => {
  await t?.close();
  await proxy?.close();
  await db?.drop();
});

const status = async (path: string) => (await fetch(`${t.httpUrl}${path}`)).status;

function grpcHealth(address: string): Promise<Serving | string> {
  const client = new HealthClient(address, credentials.createInsecure());
  return new Promise((resolve) =>
    client.check({ service: '' }, new Metadata(), { deadline: Date.now() + 2_000 }, (err, res) => {
      client.close();
      resolve(err ? `error ${err.code}` : res.status);
    }),
  );
}

describe('/readyz and /healthz', () => {
  it('/readyz answers 503 while the database is unreachable and 200 once it is back, as grpc.health.v1 does; /healthz stays 200', async () => {
    expect(await status('/readyz')).toBe(200);
    expect(await grpcHealth(t.address)).toBe(Serving.SERVING);

    proxy.cut();
    await vi.waitFor(async () => expect(await status('/readyz')).toBe(503), { timeout: 10_000, interval: 200 });
    expect(await grpcHealth(t.address)).toBe(Serving.NOT_SERVING);
    const res = await fetch(`${t.httpUrl}/readyz`);
    expect(await res.text()).toBe('not ready\n');
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await status('/healthz')).toBe(200);
    // The keys are in memory: the JWKS is still served while the database is away.
    expect(await status('/.well-known/jwks.json')).toBe(200);

    proxy.mend();
    await vi.waitFor(async () => expect(await status('/readyz')).toBe(200), { timeout: 10_000, interval: 200 });
    expect(await grpcHealth(t.address)).toBe(Serving.SERVING);
  });

  it('/readyz answers 503 from the start of shutdown while gRPC calls drain, and the listener closes after them', async () => {
    const second = await startTestRoomgate({ ROOMGATE_SHUTDOWN_GRACE_SECONDS: '3' }, { sharing: t });
    const url = second.httpUrl;
    // A call in flight: its request message never finishes, so the gRPC
    // server drains until the grace period (3 s) forces it shut.
    const session = http2.connect(`http://${second.address}`);
    session.on('error', () => undefined);
    const call = session.request({
      ':method': 'POST',
      ':path': '/roomgate.v1.RoomService/ListRooms',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    call.on('error', () => undefined);
    call.write(Buffer.from([0, 0, 0, 0, 10]));
    await new Promise((r) => setTimeout(r, 100));

    const started = Date.now();
    const closing = second.close();
    const seen: { answer: number | string; at: number }[] = [];
    for (;;) {
      const answer = await fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 'closed',
      );
      if (seen.at(-1)?.answer !== answer) seen.push({ answer, at: Date.now() - started });
      if (answer === 'closed') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await closing;
    session.destroy();
    expect(seen.map((s) => s.answer)).toEqual([503, 'closed']);
    // 503 for the whole drain, not a moment.
    expect(seen[1]!.at).toBeGreaterThanOrEqual(2_500);
  });
});
