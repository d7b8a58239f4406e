import { parseArgs } from 'node:util';
import { parseDurationMs } from './options.js';

/** What `npm run soak -- ...` asked for. */
export interface SoakOptions {
  durationMs: number;
  sampleMs: number;
  /** The closed-loop run that finds the saturating rate: callers, unrecorded warm-up, recorded time. */
  saturationConcurrency: number;
  saturationWarmupMs: number;
  saturationMs: number;
  /** Share of the saturating rate the soak sends. */
  loadFraction: number;
  /** A fixed rate (calls/s) instead of measuring saturation. */
  rate: number | undefined;
  streams: number;
  out: string;
  writeDocs: boolean;
  /**
   * The server's environment: --server-env, over the event retention and
   * purge interval that --event-retention sets.
   */
  serverEnv: Record<string, string>;
  /** ROOMGATE_EVENT_RETENTION_SECONDS the server runs with; undefined leaves roomgate's default (7 days). */
  eventRetentionSeconds: number | undefined;
  databaseUrl: string | undefined;
}

/** Usage text of the soak. */
export const SOAK_USAGE = `Usage: npm run soak -- [options]

Starts Postgres (embedded, or on DATABASE_URL, where it makes and drops a
database of its own), one roomgate server and a load generator. It finds the
rate at which a mix of room and peer calls saturates the server, then sends
a share of that rate in an open loop with WatchEvents streams open, samples the
server's heap, RSS, open fds, p99 and Postgres connections, and fails when
any of them grows without bound (the rule is printed with the results).

  --duration 10m               how long the soak load runs (ms, s or m)
  --sample 1m                  one sample (table row) per this long
  --load 0.5                   share of the saturating rate to send
  --rate N                     send N calls/s; skips the saturation run
  --saturation 12s             recorded time of the saturation run (after 3 s of warm-up)
  --saturation-concurrency 64  its closed-loop callers
  --streams 2                  WatchEvents streams held open
  --out DIR                    where soak-latest.json goes (bench/results)
  --write-docs                 also rewrite the soak section of docs/reliability.md
  --event-retention 10s        the server's event retention (ROOMGATE_EVENT_RETENTION_SECONDS,
                               purged every second), shorter than the warm-up so that the
                               events table is flat at a steady mix; 'off' keeps roomgate's
                               default (7 days), under which it grows
  --server-env KEY=VALUE       extra environment for roomgate (repeatable; wins over the above)

Exit code 0 when every check passes, 1 when one fails, 2 for bad usage.`;

function positive(flag: string, value: string | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isInteger(n))) throw new Error(`--${flag} must be a positive ${integer ? 'integer' : 'number'}`);
  return n;
}

/** `--server-env KEY=VALUE` flags as an environment. */
export function parseServerEnv(pairs: string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new Error('--server-env takes KEY=VALUE');
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}

/** Reads the command line and DATABASE_URL. */
export function parseSoakOptions(argv: string[], env: NodeJS.ProcessEnv): SoakOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '10m' },
      sample: { type: 'string', default: '1m' },
      load: { type: 'string' },
      rate: { type: 'string' },
      saturation: { type: 'string', default: '12s' },
      'saturation-concurrency': { type: 'string' },
      streams: { type: 'string', default: '2' },
      out: { type: 'string', default: 'bench/results' },
      'write-docs': { type: 'boolean', default: false },
      'server-env': { type: 'string', multiple: true, default: [] },
      'event-retention': { type: 'string', default: '10s' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const durationMs = parseDurationMs('--duration', values.duration);
  const sampleMs = parseDurationMs('--sample', values.sample);
  // Five samples leave three after the warm-up (30 %, rounded up): the fewest a slope means anything with.
  if (durationMs < 5 * sampleMs) throw new Error('--duration must be at least 5 × --sample: the verdict needs 3 samples after the warm-up');
  const loadFraction = positive('load', values.load, 0.5, false);
  if (loadFraction > 1) throw new Error('--load is a share of the saturating rate, at most 1');
  const retention = values['event-retention'];
  const eventRetentionSeconds = retention === 'off' ? undefined : Math.ceil(parseDurationMs('--event-retention', retention) / 1000);
  if (eventRetentionSeconds !== undefined && eventRetentionSeconds < 1) throw new Error("--event-retention must be at least 1s, or 'off'");
  // Purged every second, so the events table saws by one second's events rather than five.
  const retentionEnv: Record<string, string> =
    eventRetentionSeconds === undefined ? {} : { ROOMGATE_EVENT_RETENTION_SECONDS: String(eventRetentionSeconds), ROOMGATE_PURGE_INTERVAL_MS: '1000' };
  const serverEnv = { ...retentionEnv, ...parseServerEnv(values['server-env']) };
  const streams = Number(values.streams);
  if (!Number.isInteger(streams) || streams < 0) throw new Error('--streams must be 0 or more');
  return {
    durationMs,
    sampleMs,
    saturationConcurrency: positive('saturation-concurrency', values['saturation-concurrency'], 64),
    saturationWarmupMs: 3_000,
    saturationMs: parseDurationMs('--saturation', values.saturation),
    loadFraction,
    rate: values.rate === undefined ? undefined : positive('rate', values.rate, 0, false),
    streams,
    out: values.out,
    writeDocs: values['write-docs'],
    serverEnv,
    eventRetentionSeconds: Number(serverEnv.ROOMGATE_EVENT_RETENTION_SECONDS) || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
  };
}
