// What the soak and the scale-out run read from outside the load: the
// server's own Prometheus metrics (V8 heap, RSS, open fds), Postgres's
// statistics views, and CPU time from Linux's /proc.
import { readFileSync } from 'node:fs';
import pg from 'pg';

/** The process figures of prom-client's default metrics that the soak follows. */
export interface ServerMemory {
  heapUsedMb: number;
  rssMb: number;
  openFds: number;
}

/**
 * The metrics port of a `roomgate serve` from its log file: the
 * "roomgate serving" line carries it next to the gRPC port. Undefined when
 * metrics are off.
 */
export function metricsPortFromLog(logFile: string): number | undefined {
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"roomgate serving"')) continue;
    const port = (JSON.parse(line) as { metricsPort?: unknown }).metricsPort;
    return typeof port === 'number' ? port : undefined;
  }
  return undefined;
}

function metricValue(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`/metrics has no ${name}`);
  return Number(match[1]);
}

/** Scrapes `GET /metrics` on `port` (5 s budget). */
export async function readServerMemory(port: number): Promise<ServerMemory> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const text = await response.text();
  return {
    heapUsedMb: metricValue(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    rssMb: metricValue(text, 'process_resident_memory_bytes') / 2 ** 20,
    openFds: metricValue(text, 'process_open_fds'),
  };
}

/** Clock ticks per second of /proc/PID/stat: USER_HZ, 100 on every Linux architecture Node runs on. */
const USER_HZ = 100;

/** CPU seconds (user + system) that `pid` has used, or null where /proc does not tell. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return null;
  }
}

/** A monitoring connection to the database under test. */
export class DatabaseProbe {
  private constructor(private readonly client: pg.Client) {}

  /** Connects to `connectionString`; the probe's own connection is left out of every count. */
  static async open(connectionString: string): Promise<DatabaseProbe> {
    const client = new pg.Client({ connectionString, application_name: 'roomgate-bench-probe' });
    client.on('error', () => undefined);
    await client.connect();
    return new DatabaseProbe(client);
  }

  /** Connections to this database other than the probe's, and its size on disk in MB. */
  async usage(): Promise<{ connections: number; sizeMb: number }> {
    const { rows } = await this.client.query<{ connections: number; bytes: string }>(
      `SELECT (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()) AS connections,
              pg_database_size(current_database()) AS bytes`,
    );
    return { connections: rows[0]!.connections, sizeMb: Number(rows[0]!.bytes) / 2 ** 20 };
  }

  /** The `limit` largest tables of this database, with their indexes, and their live rows (the statistics' estimate). */
  async largestTables(limit: number): Promise<Array<{ table: string; sizeMb: number; rows: number }>> {
    const { rows } = await this.client.query<{ table: string; bytes: string; rows: string }>(
      `SELECT relname AS table, pg_total_relation_size(relid) AS bytes, n_live_tup AS rows
         FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ table: r.table, sizeMb: Number(r.bytes) / 2 ** 20, rows: Number(r.rows) }));
  }

  /**
   * Every user table's exact row count (count(*), not the statistics'
   * estimate, which lags by up to a minute) and size on disk with its indexes
   * and TOAST, which includes dead rows that vacuum has not yet freed.
   */
  async tableUsage(): Promise<Array<{ table: string; rows: number; bytes: number }>> {
    const { rows: tables } = await this.client.query<{ schema: string; table: string; bytes: string }>(
      `SELECT schemaname AS schema, relname AS table, pg_total_relation_size(relid) AS bytes FROM pg_stat_user_tables ORDER BY relname`,
    );
    const usage: Array<{ table: string; rows: number; bytes: number }> = [];
    for (const t of tables) {
      const name = `${this.client.escapeIdentifier(t.schema)}.${this.client.escapeIdentifier(t.table)}`;
      const { rows } = await this.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`);
      usage.push({ table: t.table, rows: Number(rows[0]!.n), bytes: Number(t.bytes) });
    }
    return usage;
  }

  /** Transactions committed in this database since the statistics were reset, read-only ones included. */
  async transactions(): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()');
    return Number(rows[0]!.n);
  }

  /** Every Postgres server process (backends and background workers), by pid; empty when the server hides them. */
  async serverPids(): Promise<number[]> {
    const { rows } = await this.client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()');
    return rows.map((r) => r.pid);
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.client.end();
  }
}
