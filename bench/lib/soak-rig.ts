// What the soak and the scale-out run stand on: a temporary directory,
// Postgres with one new database, any number of `roomgate serve` processes on
// that database, and the forked load generator (soak-worker.ts). Everything is
// stopped and removed on close, and on Ctrl-C.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from './postgres-cluster.js';
import { createManagementToken, startRoomgate, type RoomgateServer, type ServerSettings } from './roomgate-process.js';
import { metricsPortFromLog } from './soak-probe.js';
import { Worker } from './worker-ipc.js';

/** A roomgate server of the rig, with the port of its /metrics. */
export interface RigServer extends RoomgateServer {
  metricsPort: number | undefined;
  logFile: string;
}

/** A running rig. */
export interface Rig {
  /** One line on the Postgres server. */
  postgres: string;
  databaseUrl: string;
  loadgen: Worker;
  /** Starts one more `roomgate serve` on the database; the first one migrates it. */
  startServer(): Promise<RigServer>;
  /** A sandbox management token (after the first server has migrated the database). */
  managementToken(): Promise<string>;
  /** Stops everything, last started first. */
  close(): Promise<void>;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Starts Postgres, makes the database and forks the load generator. */
export async function startRig(databaseUrl: string | undefined, serverEnv: Record<string, string>): Promise<Rig> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((err: unknown) => log(`clean-up failed: ${err instanceof Error ? err.message : String(err)}`));
    }
  };
  const interrupted = () => {
    log('interrupted; stopping everything that was started');
    void close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  cleanups.push(async () => void process.off('SIGINT', interrupted).off('SIGTERM', interrupted));
  try {
    // Readable by all: as root, embedded Postgres runs as the postgres user, which must reach its data directory.
    const workDir = await mkdtemp(path.join(os.tmpdir(), 'roomgate-soak-'));
    await chmod(workDir, 0o755);
    cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    log('starting Postgres …');
    const cluster = await startPostgres(databaseUrl, workDir);
    cleanups.push(() => cluster.stop());
    const base: Omit<ServerSettings, 'logFile'> = {
      databaseUrl: await cluster.createDatabase('roomgate_soak'),
      // Every server of one database must share its key-encryption key.
      keyEncryptionKey: randomBytes(32).toString('base64'),
      extraEnv: serverEnv,
    };
    const loadgen = Worker.start('load generator', fileURLToPath(new URL('./soak-worker.js', import.meta.url)));
    cleanups.push(() => loadgen.stop());
    let servers = 0;
    let token: Promise<string> | undefined;
    return {
      postgres: cluster.description,
      databaseUrl: base.databaseUrl,
      loadgen,
      async startServer() {
        const logFile = path.join(workDir, `roomgate-${++servers}.log`);
        log(`starting roomgate serve #${servers} …`);
        const server = await startRoomgate({ ...base, logFile });
        cleanups.push(() => server.stop());
        return Object.assign(server, { metricsPort: metricsPortFromLog(logFile), logFile });
      },
      managementToken: () => (token ??= createManagementToken({ ...base, logFile: path.join(workDir, 'token.log') })),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
