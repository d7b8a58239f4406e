import type pg from 'pg';

/** Options of {@link DatabaseProbe}. */
export interface DatabaseProbeOptions {
  /** Time between probes. */
  intervalMs: number;
  /** A probe slower than this counts as a failure. */
  timeoutMs: number;
  /** Told when the database goes from reachable to unreachable or back. */
  onChange: (reachable: boolean) => void;
}

/**
 * Asks Postgres `SELECT 1` at an interval and reports changes in
 * reachability, which drive grpc.health.v1: a load balancer should stop
 * sending calls that can only fail with UNAVAILABLE.
 */
export class DatabaseProbe {
  private timer: NodeJS.Timeout | undefined;
  private reachable = true;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: DatabaseProbeOptions,
  ) {}

  /** Starts probing; the first probe comes after one interval. */
  start(): void {
    this.timer ??= setInterval(() => {
      this.checking ??= this.check().finally(() => (this.checking = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops probing and waits for a probe in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.checking;
  }

  private async check(): Promise<void> {
    let ok: boolean;
    try {
      await this.pool.query({ text: 'SELECT 1', query_timeout: this.options.timeoutMs } as pg.QueryConfig);
      ok = true;
    } catch {
      ok = false;
    }
    if (ok !== this.reachable) {
      this.reachable = ok;
      this.options.onChange(ok);
    }
  }
}
