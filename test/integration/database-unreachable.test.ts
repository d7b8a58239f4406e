// `roomgate serve` when Postgres cannot be reached at start: it retries with
// backoff for ROOMGATE_DB_CONNECT_TIMEOUT_SECONDS, one warning per attempt,
// then exits 1 with a message naming host:port and the error; a refused login
// or a missing database exits at once; a server that comes up meanwhile is
// used; SIGTERM ends the wait at once. The compiled bin runs in child
// processes, and the password of DATABASE_URL must appear in none of their
// output. A TCP proxy of the test's own stands for a Postgres that is down
// (not listening) and then up (forwarding to the test database).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoomgateClient } from '../../src/client/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { mintTestToken } from '../support/roomgate.js';
import { baseEnv, freePort, ROOMGATE_BIN } from '../support/server-process.js';
import { waitUntil } from '../support/wait-until.js';
import { servingPortIn as servingPort } from '../../src/cli/serving-line.js';

const PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
const KEK = randomBytes(32).toString('base64');

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

interface Run {
  code: number | null;
  /** From spawning to exit, Node's start-up included. */
  ms: number;
  /** When it exited (epoch ms). */
  at: number;
  stdout: string;
  stderr: string;
}

/** A `roomgate serve` process, with its output so far and its end. */
function start(env: Record<string, string>) {
  const child = spawn(process.execPath, [ROOMGATE_BIN, 'serve'], {
    env: { ...baseEnv, ROOMGATE_GRPC_ADDRESS: '127.0.0.1:0', ROOMGATE_METRICS_ADDRESS: 'off', ROOMGATE_HTTP_ADDRESS: 'off', ROOMGATE_KEY_ENCRYPTION_KEY: KEK, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = Date.now();
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<Run>((resolve) =>
    child.once('close', (code) => resolve({ code, ms: Date.now() - started, at: Date.now(), stdout, stderr })),
  );
  // Killed at the end of the test whatever happened.
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  void exited.then(() => clearTimeout(timer));
  return { child, exited, stdout: () => stdout };
}

/** The "retrying" warnings in pino output. */
function retries(stdout: string): { database: string; code: string; attempt: number; time: number }[] {
  return stdout
    .split('\n')
    .filter((l) => l.includes('cannot reach Postgres; retrying'))
    .map((l) => JSON.parse(l) as { database: string; code: string; attempt: number; time: number });
}


/** The test database's URL with `change` applied. */
function urlWith(change: (url: URL) => void): string {
  const url = new URL(db.connectionString);
  change(url);
  return url.toString();
}

/** A TCP proxy to the test database, listening on `port` from when it is started. */
async function proxyTo(port: number): Promise<{ close(): Promise<void> }> {
  const target = new URL(db.connectionString);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((incoming) => {
    const outgoing = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [incoming, outgoing]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    incoming.pipe(outgoing).pipe(incoming);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('serve with Postgres unreachable at start', () => {
  it('retries with backoff, then exits 1 naming host:port and the error, never the password', async () => {
    const port = await freePort();
    const run = await start({
      DATABASE_URL: `postgres://roomgate:${PASSWORD}@127.0.0.1:${port}/roomgate`,
      ROOMGATE_DB_CONNECT_TIMEOUT_SECONDS: '2',
    }).exited;
    expect(run.code).toBe(1);
    // The window opens at the first attempt, which the first warning follows
    // at once; Node's start-up comes before it.
    const warned = retries(run.stdout);
    expect(run.at - warned[0]!.time).toBeGreaterThanOrEqual(1_800);
    expect(run.at - warned[0]!.time).toBeLessThan(3_000);
    expect(run.ms).toBeLessThan(8_000);
    expect(run.stderr).toMatch(
      new RegExp(`^roomgate: cannot reach Postgres at 127\\.0\\.0\\.1:${port} after [23]s \\(ECONNREFUSED\\): check DATABASE_URL`),
    );
    // Full jitter from 0.5 s doubling: at least three waits fit in 2 s.
    expect(warned.length).toBeGreaterThanOrEqual(3);
    expect(warned.map((w) => w.attempt)).toEqual(warned.map((_, i) => i + 1));
    for (const w of warned) expect(w).toMatchObject({ database: `127.0.0.1:${port}`, code: 'ECONNREFUSED' });
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('exits at once, without retrying, when the login is refused or the database is missing', async () => {
    const wrongLogin = await start({
      DATABASE_URL: urlWith((u) => {
        u.username = 'roomgate_no_such_user';
        u.password = PASSWORD;
      }),
      ROOMGATE_DB_CONNECT_TIMEOUT_SECONDS: '30',
    }).exited;
    expect(wrongLogin.code).toBe(1);
    expect(wrongLogin.ms).toBeLessThan(10_000);
    expect(wrongLogin.stderr).toMatch(/^roomgate: Postgres at [^ ]+ refused the connection \(28(P01|000): .*\): check DATABASE_URL/);
    expect(retries(wrongLogin.stdout)).toEqual([]);
    expect(wrongLogin.stdout + wrongLogin.stderr).not.toContain(PASSWORD);

    const missing = await start({
      DATABASE_URL: urlWith((u) => (u.pathname = '/roomgate_no_such_database')),
      ROOMGATE_DB_CONNECT_TIMEOUT_SECONDS: '30',
    }).exited;
    expect(missing.code).toBe(1);
    expect(missing.ms).toBeLessThan(10_000);
    expect(missing.stderr).toMatch(/^roomgate: Postgres at [^ ]+ refused the connection \(3D000: database "roomgate_no_such_database" does not exist\)/);
    expect(retries(missing.stdout)).toEqual([]);
  });

  it('starts serving once Postgres comes up while it retries', async () => {
    const port = await freePort();
    const proc = start({
      DATABASE_URL: urlWith((u) => {
        u.hostname = '127.0.0.1';
        u.port = String(port);
      }),
      ROOMGATE_DB_CONNECT_TIMEOUT_SECONDS: '30',
    });
    // Nothing listens on the port until it has failed and retried.
    await waitUntil(() => retries(proc.stdout()).length >= 2, 15_000);
    const proxy = await proxyTo(port);
    try {
      await waitUntil(() => servingPort(proc.stdout()) !== undefined, 15_000);
      expect(retries(proc.stdout())[0]).toMatchObject({ database: `127.0.0.1:${port}`, code: 'ECONNREFUSED' });
      const client = createRoomgateClient(`127.0.0.1:${servingPort(proc.stdout())}`, { token: await mintTestToken(db.pool) });
      try {
        expect((await client.rooms.createRoom({ name: 'after-the-wait' })).room!.name).toBe('after-the-wait');
      } finally {
        client.close();
      }
      proc.child.kill('SIGTERM');
      expect((await proc.exited).code).toBe(0);
    } finally {
      proc.child.kill('SIGKILL');
      await proxy.close();
    }
  });

  it('exits 0 at once on SIGTERM while it waits for Postgres', async () => {
    const port = await freePort();
    const proc = start({
      DATABASE_URL: `postgres://roomgate:${PASSWORD}@127.0.0.1:${port}/roomgate`,
      ROOMGATE_DB_CONNECT_TIMEOUT_SECONDS: '60',
    });
    await waitUntil(() => retries(proc.stdout()).length >= 1, 10_000);
    const signalled = Date.now();
    proc.child.kill('SIGTERM');
    const run = await proc.exited;
    expect(run.code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(1_000);
    expect(run.stdout).toContain('"signal":"SIGTERM"');
  });
});
