// Several `roomgate serve` processes on one database, as replicas behind a
// load balancer run: the same DATABASE_URL and the same KEK, each its own
// process (see server-process.ts), each reached through its own client.
// Isolation is the caller's database, normally one of the test file's own
// from createTestDatabase() (database.ts); a test that must stop Postgres
// passes the URL of a Postgres it runs itself.
//
// The processes start together, as replicas do, so they race to migrate and
// to create the first signing key. An admin management token is made with
// the `roomgate token create` command once they serve.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { createRoomgateClient, type RoomgateClient } from '../../src/client/index.js';
import { baseEnv, ROOMGATE_BIN, serveRoomgate, type RoomgateProcess } from './server-process.js';

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** The database every instance serves. */
  databaseUrl: string;
  /** How many instances; 3 unless set. */
  size?: number;
  /** More environment for every instance, on top of DATABASE_URL, the KEK and a 1 s shutdown grace. */
  env?: Record<string, string>;
  /** Default deadline of the clients' calls; 5 s unless set. */
  deadlineMs?: number;
}

/** Running instances of roomgate on one database. */
export interface Cluster {
  /** The processes, in start order; `instances[i]` is served by `clients[i]`. */
  instances: RoomgateProcess[];
  /** One client per instance, carrying {@link Cluster.adminToken}. */
  clients: RoomgateClient[];
  /** An admin management token of the sandbox environment. */
  adminToken: string;
  /** The environment every instance was started with (DATABASE_URL and KEK included). */
  env: Record<string, string>;
  /** The client of call number `i` when calls go round-robin: `clients[i % size]`. */
  client(i: number): RoomgateClient;
  /**
   * Makes `count` calls at once, call `i` to instance `i % size`, and settles
   * them all; each result says which instance served it.
   */
  spread<T>(count: number, call: (client: RoomgateClient, i: number) => Promise<T>): Promise<SpreadResult<T>[]>;
  /** Runs `roomgate <args>` against the cluster's database with its KEK; resolves with stdout. */
  cli(...args: string[]): Promise<string>;
  /** The Prometheus text instance `i` serves on its metrics port. */
  metrics(i: number): Promise<string>;
  /** Whether instance `i` is still running. */
  alive(i: number): boolean;
  /** Closes the clients and stops every instance still running (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

/** One call of {@link Cluster.spread}, settled. */
export type SpreadResult<T> = PromiseSettledResult<T> & { instance: number };

/** Starts `size` instances on `databaseUrl`; if any fails to start, stops the others and rejects. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const size = options.size ?? 3;
  const env = {
    DATABASE_URL: options.databaseUrl,
    ROOMGATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ROOMGATE_SHUTDOWN_GRACE_SECONDS: '1',
    ...options.env,
  };
  const started = await Promise.allSettled(Array.from({ length: size }, () => serveRoomgate(env)));
  const instances = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(instances.map((p) => p.stop()));
    throw failed.reason;
  }
  const cli = async (...args: string[]) =>
    (await promisify(execFile)(process.execPath, [ROOMGATE_BIN, ...args], { env: { ...baseEnv, ...env } })).stdout;
  const clients: RoomgateClient[] = [];
  const stop = async () => {
    for (const c of clients) c.close();
    await Promise.all(instances.map((p) => p.stop(10_000)));
  };
  let adminToken: string;
  try {
    adminToken = (await cli('token', 'create', '--environment', 'sandbox')).trim();
  } catch (err) {
    await stop();
    throw err;
  }
  for (const p of instances) clients.push(createRoomgateClient(p.address, { token: adminToken, deadlineMs: options.deadlineMs ?? 5_000 }));
  const client = (i: number) => clients[i % size]!;
  return {
    instances,
    clients,
    adminToken,
    env,
    client,
    spread: <T>(count: number, call: (c: RoomgateClient, i: number) => Promise<T>) =>
      Promise.all(
        Array.from({ length: count }, (_, i) =>
          call(client(i), i).then(
            (value): SpreadResult<T> => ({ status: 'fulfilled', value, instance: i % size }),
            (reason: unknown): SpreadResult<T> => ({ status: 'rejected', reason, instance: i % size }),
          ),
        ),
      ),
    cli,
    metrics: async (i) => (await fetch(`http://127.0.0.1:${metricsPortOf(instances[i]!)}/metrics`)).text(),
    alive: (i) => instances[i]!.child.exitCode === null && instances[i]!.child.signalCode === null,
    stop,
  };
}

/** The metrics port in a process's "roomgate serving" log line. */
function metricsPortOf(p: RoomgateProcess): number {
  for (const line of p.stdout().split('\n')) {
    if (!line.includes('"roomgate serving"')) continue;
    const { metricsPort } = JSON.parse(line) as { metricsPort?: unknown };
    if (typeof metricsPort === 'number') return metricsPort;
  }
  throw new Error(`no metrics port in the log of the instance on ${p.address}`);
}
