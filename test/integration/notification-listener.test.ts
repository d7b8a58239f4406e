// The notification listener on real Postgres: NOTIFY from the pool, a killed
// backend, and a connection that stops answering (through a TCP proxy that can
// freeze its connections). The file has a database of its own, and each test a
// listener with its own application_name, by which it finds its session.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { NOTIFY_CHANNELS } from '../../src/domain/revocation-notice.js';
import { NotificationListener, type NotificationListenerOptions } from '../../src/store/notification-listener.js';
import { createTestDatabase, runAdminStatement, type TestDatabase } from '../support/database.js';

const REVOCATIONS = NOTIFY_CHANNELS.revocations;
const SIGNING_KEYS = NOTIFY_CHANNELS.signingKeys;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

const running: NotificationListener[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((l) => l.stop()));
});

/** A started listener that records what it receives, and the log lines it wrote. */
async function startListener(options: Partial<NotificationListenerOptions> = {}) {
  const applicationName = `roomgate-listener-${randomBytes(4).toString('hex')}`;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const listener = new NotificationListener({
    connectionString: db.connectionString,
    channels: [REVOCATIONS, SIGNING_KEYS],
    logger: pino({ level: 'info' }, sink),
    applicationName,
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 500,
    minReconnectDelayMs: 20,
    maxReconnectDelayMs: 200,
    ...options,
  });
  const received = { revocations: [] as string[], keys: [] as string[] };
  listener.on(REVOCATIONS, (payload) => received.revocations.push(payload));
  listener.on(SIGNING_KEYS, (payload) => received.keys.push(payload));
  const reconnects: boolean[] = [];
  listener.onReconnect(() => reconnects.push(listener.connected));
  running.push(listener);
  await listener.start();
  return { listener, received, reconnects, logs, applicationName };
}

async function notify(channel: string, payload: string): Promise<void> {
  await db.pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
}

async function backendPids(applicationName: string): Promise<number[]> {
  const { rows } = await db.pool.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
    [applicationName],
  );
  return rows.map((r) => r.pid);
}

/** A TCP proxy to the test database whose open connections can be frozen: they stay open but pass nothing. */
async function startFreezableProxy() {
  const target = new URL(db.connectionString);
  const pairs: Array<{ client: net.Socket; upstream: net.Socket }> = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('error', () => undefined);
      from.on('close', () => to.destroy());
      from.pipe(to);
    }
    pairs.push({ client, upstream });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(db.connectionString);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    connectionString: url.toString(),
    pairs,
    freeze(): void {
      for (const { client, upstream } of pairs) {
        client.unpipe();
        upstream.unpipe();
        client.pause();
        upstream.pause();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { client, upstream } of pairs) [client, upstream].forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}

describe('NotificationListener', () => {
  it('delivers each channel’s payloads intact, in commit order, to that channel’s handlers', async () => {
    const { listener, received } = await startListener();
    expect(listener.connected).toBe(true);
    const payloads = ['peer:6f1c2a0e-4b7d-4c55-9a65-0d1e8f3b2c11', 'room:é "quoted" \\ ünïcødé 🚪', 'mtoken:x'.padEnd(7000, 'y')];
    for (const payload of payloads) await notify(REVOCATIONS, payload);
    await notify(SIGNING_KEYS, 'kid-1');
    await vi.waitFor(() => expect(received.keys).toEqual(['kid-1']));
    expect(received.revocations).toEqual(payloads);
  });

  it('delivers a notice sent in a transaction only once it commits, and never one rolled back', async () => {
    const { received } = await startListener();
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_notify($1, $2)', [REVOCATIONS, 'peer:rolled-back']);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await client.query('SELECT pg_notify($1, $2)', [REVOCATIONS, 'peer:committed']);
      await notify(REVOCATIONS, 'peer:outside');
      await vi.waitFor(() => expect(received.revocations).toEqual(['peer:outside']));
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await vi.waitFor(() => expect(received.revocations).toEqual(['peer:outside', 'peer:committed']));
  });

  it('keeps delivering to the other handlers when one throws, and logs the failure', async () => {
    const { listener, received, logs } = await startListener();
    listener.on(REVOCATIONS, () => {
      throw new Error('handler bug');
    });
    await notify(REVOCATIONS, 'room:1');
    await notify(REVOCATIONS, 'room:2');
    await vi.waitFor(() => expect(received.revocations).toEqual(['room:1', 'room:2']));
    expect(logs.join('')).toMatch(/notification handler failed.*handler bug|handler bug.*notification handler failed/s);
  });

  it('reconnects after its backend is terminated, runs the reconnect handlers before it counts as connected, and delivers again', async () => {
    const { listener, received, reconnects, logs, applicationName } = await startListener();
    const [pid] = await backendPids(applicationName);
    expect(pid).toBeTypeOf('number');
    const states: boolean[] = [];
    const watch = setInterval(() => states.push(listener.connected), 2);

    await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await vi.waitFor(() => expect(reconnects).toHaveLength(1));
    await vi.waitFor(() => expect(listener.connected).toBe(true));
    clearInterval(watch);

    expect(reconnects).toEqual([false]);
    expect(states).toContain(false);
    const newPids = await backendPids(applicationName);
    expect(newPids).toHaveLength(1);
    expect(newPids[0]).not.toBe(pid);
    await notify(REVOCATIONS, 'peer:after-reconnect');
    await notify(SIGNING_KEYS, 'kid-2');
    await vi.waitFor(() => expect(received.revocations).toEqual(['peer:after-reconnect']));
    await vi.waitFor(() => expect(received.keys).toEqual(['kid-2']));
    expect(logs.join('')).toContain('notification listener reconnected');
  });

  it('keeps retrying with backoff while the database refuses connections, and recovers', async () => {
    const { listener, received, reconnects, logs, applicationName } = await startListener();
    const admin = inject('databaseAdminUrl');
    const allowConnections = (allow: boolean) =>
      runAdminStatement(admin, (c) => `ALTER DATABASE ${c.escapeIdentifier(db.name)} ALLOW_CONNECTIONS ${allow}`);
    await allowConnections(false);
    try {
      await runAdminStatement(
        admin,
        (c) => `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ${c.escapeLiteral(applicationName)}`,
      );
      await vi.waitFor(() => expect(listener.connected).toBe(false));
      await vi.waitFor(() => expect(logs.filter((l) => l.includes('could not reconnect')).length).toBeGreaterThanOrEqual(3));
      expect(reconnects).toEqual([]);
    } finally {
      await allowConnections(true);
    }
    await vi.waitFor(() => expect(listener.connected).toBe(true), { timeout: 5_000 });
    expect(reconnects).toEqual([false]);
    await notify(REVOCATIONS, 'room:after-outage');
    await vi.waitFor(() => expect(received.revocations).toEqual(['room:after-outage']));
  });

  it('replaces a connection that stops answering, found by the heartbeat, and destroys its socket', async () => {
    const proxy = await startFreezableProxy();
    try {
      const { listener, received, reconnects } = await startListener({ connectionString: proxy.connectionString });
      expect(proxy.pairs).toHaveLength(1);
      const frozen = proxy.pairs[0]!;
      proxy.freeze();
      await notify(REVOCATIONS, 'peer:lost-while-frozen');
      await vi.waitFor(() => expect(reconnects).toEqual([false]), { timeout: 5_000 });
      // Reading again lets the proxy see the end of the stream, which only the listener can have closed.
      frozen.client.resume();
      await vi.waitFor(() => expect(frozen.client.destroyed).toBe(true));
      expect(listener.connected).toBe(true);
      expect(received.revocations).toEqual([]);
      await notify(REVOCATIONS, 'peer:after-heartbeat');
      await vi.waitFor(() => expect(received.revocations).toEqual(['peer:after-heartbeat']));
    } finally {
      await Promise.all(running.splice(0).map((l) => l.stop()));
      await proxy.close();
    }
  });

  it('closes its session on stop and delivers nothing more', async () => {
    const { listener, received, applicationName } = await startListener();
    expect(await backendPids(applicationName)).toHaveLength(1);
    await listener.stop();
    expect(listener.connected).toBe(false);
    await vi.waitFor(async () => expect(await backendPids(applicationName)).toEqual([]));
    await notify(REVOCATIONS, 'peer:after-stop');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received.revocations).toEqual([]);
  });

  it('fails to start, leaving nothing open, when the database is unreachable', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const url = new URL(db.connectionString);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    const listener = new NotificationListener({
      connectionString: url.toString(),
      channels: [REVOCATIONS],
      logger: pino({ level: 'silent' }),
    });
    await expect(listener.start()).rejects.toThrow(/ECONNREFUSED/);
    expect(listener.connected).toBe(false);
    await listener.stop();
  });

  it('refuses a handler for a channel it does not listen on', () => {
    const listener = new NotificationListener({
      connectionString: db.connectionString,
      channels: [REVOCATIONS],
      logger: pino({ level: 'silent' }),
    });
    expect(() => listener.on(SIGNING_KEYS, () => undefined)).toThrow(/not listening on channel "roomgate_signing_keys"/);
  });
});
