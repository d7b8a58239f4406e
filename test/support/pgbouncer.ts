// PgBouncer in transaction mode in front of the run's Postgres, as production
// fleets deploy it (docs/scaling.md). startPgBouncer() writes an ini and a
// userlist to a temporary directory and runs Debian's /usr/sbin/pgbouncer
// (PGBOUNCER overrides the path) on a free loopback port, in the foreground, as
// a child of the test process; stop() kills it and removes the directory.
//
// Isolation is the caller's: `*` in [databases] maps every database name to the
// same name on the server, so a test file reaches its own createTestDatabase()
// copy through the bouncer with url(db.name). Clients log in with trust (the
// user must still be in the userlist); the bouncer logs in to Postgres as the
// server URL says.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './server-process.js';

/** The pgbouncer binary the tests run. */
export const PGBOUNCER_BIN = process.env.PGBOUNCER || '/usr/sbin/pgbouncer';

/** Why PgBouncer tests cannot run here, or undefined when they can. */
export async function pgbouncerMissing(): Promise<string | undefined> {
  return access(PGBOUNCER_BIN, constants.X_OK).then(
    () => undefined,
    () => `no executable ${PGBOUNCER_BIN} (apt-get install pgbouncer, or set PGBOUNCER)`,
  );
}

/** A running PgBouncer. */
export interface PgBouncer {
  port: number;
  /** A URL of `database` through the bouncer, as the server URL's user. */
  url(database: string): string;
  /** Transactions and queries the bouncer has passed to `database` (SHOW STATS on its admin console). */
  stats(database: string): Promise<{ transactions: number; queries: number }>;
  /** What the bouncer wrote to stderr. */
  log(): string;
  /** Whether the bouncer process is still running. */
  alive(): boolean;
  stop(): Promise<void>;
}

/** Options of {@link startPgBouncer}. */
export interface PgBouncerOptions {
  /** The Postgres server (any database) the bouncer connects to. */
  serverUrl: string;
  /** Server connections per database and user (default_pool_size); 2 unless set. */
  poolSize?: number;
}

/** Starts PgBouncer with pool_mode=transaction; rejects, with its output, when it is not listening within 10 s. */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const server = new URL(options.serverUrl);
  const user = decodeURIComponent(server.username) || 'postgres';
  const dir = await mkdtemp(path.join(tmpdir(), 'roomgate-pgbouncer-'));
  // PgBouncer will not run as root; as root it is told to drop to `nobody`,
  // which must then be able to read its files.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await chmod(dir, 0o755);
  const port = await freePort();
  const target = [`host=${server.hostname}`, `port=${server.port || '5432'}`, `user=${user}`];
  if (server.password) target.push(`password=${decodeURIComponent(server.password)}`);
  const ini = path.join(dir, 'pgbouncer.ini');
  const userlist = path.join(dir, 'userlist.txt');
  await writeFile(userlist, `"${user}" ""\n`, { mode: 0o644 });
  await writeFile(
    ini,
    [
      '[databases]',
      `* = ${target.join(' ')}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${userlist}`,
      `admin_users = ${user}`,
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize ?? 2}`,
      'max_client_conn = 200',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const child = spawn(PGBOUNCER_BIN, [...(asRoot ? ['-u', 'nobody'] : []), ini], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    await kill(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await listening(child, () => output, `listening on 127.0.0.1:${port}`);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = (database: string) => {
    const u = new URL(options.serverUrl);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    u.password = '';
    u.pathname = `/${encodeURIComponent(database)}`;
    return u.toString();
  };
  return {
    port,
    url,
    log: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    stats: async (database) => {
      const admin = new pg.Client({ connectionString: url('pgbouncer') });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ database: string; total_xact_count: string; total_query_count: string }>('SHOW STATS');
        const row = rows.find((r) => r.database === database);
        return { transactions: Number(row?.total_xact_count ?? 0), queries: Number(row?.total_query_count ?? 0) };
      } finally {
        await admin.end();
      }
    },
    stop,
  };
}

function listening(child: ChildProcess, output: () => string, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`pgbouncer did not start within 10 s:\n${output()}`)), 10_000);
    const onData = () => {
      if (!output().includes(line)) return;
      clearTimeout(timer);
      for (const s of [child.stdout, child.stderr]) s?.off('data', onData);
      child.off('exit', onExit);
      resolve();
    };
    const onExit = (code: number | null) => fail(new Error(`pgbouncer exited (${code}):\n${output()}`));
    const fail = (err: Error) => {
      clearTimeout(timer);
      for (const s of [child.stdout, child.stderr]) s?.off('data', onData);
      child.off('exit', onExit);
      reject(err);
    };
    for (const s of [child.stdout, child.stderr]) s?.on('data', onData);
    child.once('exit', onExit);
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    // SIGTERM lets PgBouncer wait for its clients; they are the test's and may be stuck.
    setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
  });
}
