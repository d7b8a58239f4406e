// The soak's samples and its verdict: does anything grow without bound?
// A leak shows as a steady climb once the server is warm, so the rule fits a
// least-squares line through the samples after the warm-up and extrapolates
// it to an hour; a climb counts only when the last sample is also above
// everything the warm-up reached (a server that grew during the warm-up and
// then levelled off is not leaking).

/** One interval of the soak, as the table and the JSON show it. */
export interface SoakSample {
  /** Seconds since the soak load started, at the end of the interval. */
  t: number;
  /** Calls that ended in the interval, successful or not, and their rate. */
  calls: number;
  rps: number;
  errors: number;
  firstError: string | null;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The most a call was sent late: the load generator falling behind its schedule. */
  maxLagMs: number;
  /** V8 heap used, RSS and open fds of the server: at the end of the interval, and the lowest reading in it. */
  heapMb: number;
  heapFloorMb: number;
  rssMb: number;
  rssFloorMb: number;
  fds: number;
  fdsFloor: number;
  /** Connections to the database (pg_stat_activity), the probe's own left out. */
  pgConnections: number;
  /** The whole database's size on disk (pg_database_size), judged tables or not. */
  dbSizeMb: number;
  /** Rows (exact) and size on disk (with indexes, TOAST and not-yet-vacuumed dead rows) of the tables the verdict judges: all but {@link UNJUDGED_TABLES}. */
  dbRows: number;
  dbMb: number;
  /** Rows in events, which retention keeps flat; shown in the table. */
  eventRows: number;
  /** Events the WatchEvents streams received, and streams that ended on their own. */
  streamEvents: number;
  streamFailures: number;
  liveRooms: number;
  livePeers: number;
}

/** One line of the verdict. */
export interface SoakCheck {
  check: string;
  rule: string;
  measured: string;
  pass: boolean;
}

/**
 * The growth limits, per hour, of the figures that must not climb, each
 * judged on the lowest reading of each interval; and the margin by which the
 * last sample must top the warm-up before a climb counts, which is about what
 * garbage collection moves them between two short intervals.
 */
export const GROWTH_LIMITS = [
  { key: 'heapFloorMb', name: 'V8 heap used', perHour: 50, margin: 5, unit: 'MB' },
  { key: 'rssFloorMb', name: 'RSS', perHour: 100, margin: 10, unit: 'MB' },
  { key: 'fdsFloor', name: 'open fds', perHour: 20, margin: 3, unit: 'fds' },
  // At a steady mix the live rooms and peers wander by a hundred or two and
  // the events table saws by one purge interval's events; a table that keeps
  // everything grows by the event rate (about 200 rows/s in the 10-minute run
  // before retention: 111,411 events rows).
  { key: 'dbRows', name: 'database rows', perHour: 10_000, margin: 1_000, unit: 'rows' },
  { key: 'dbMb', name: 'database size', perHour: 50, margin: 5, unit: 'MB' },
] as const;

/**
 * Tables the database checks leave out, with why: they are bounded, but by
 * a time longer than a soak, so they grow through any run.
 */
export const UNJUDGED_TABLES: Readonly<Record<string, string>> = {
  idempotency_keys: 'kept for ROOMGATE_IDEMPOTENCY_KEY_TTL_HOURS (at least 1 hour) and then deleted by the purge',
  audit_events: 'one row per audited change, kept for ROOMGATE_AUDIT_RETENTION_DAYS (365 by default) and then pruned by the purge',
};

/**
 * RSS is judged only in runs at least this long (seconds). In the first
 * minutes it still settles (allocator arenas, compiled code) while the heap
 * floor is flat: a 60 s run in CI saw RSS climb 174 → 198 MB with the heap
 * floor at 30–32 MB at both ends. The heap floor, which is where a leak
 * shows, is judged in every run.
 */
export const RSS_MIN_RUN_S = 300;

/**
 * The database's size is judged only in runs at least this long (seconds).
 * Deleted rows hold their space until autovacuum frees it for reuse, and
 * autovacuum looks at each database once a minute (autovacuum_naptime, 1 min
 * by default): until its first pass the files grow at the insert rate even
 * when the row count is flat. Rows are judged in every run.
 */
export const DB_SIZE_MIN_RUN_S = 300;

/** Whether the growth limit of `key` is judged in a run that ended at `t` seconds. */
function judgedAt(key: (typeof GROWTH_LIMITS)[number]['key'], t: number): boolean {
  if (key === 'rssFloorMb') return t >= RSS_MIN_RUN_S;
  if (key === 'dbMb') return t >= DB_SIZE_MIN_RUN_S;
  return true;
}

/** Failed calls (and streams that ended) allowed, as a share of all calls. */
export const ERROR_BUDGET = 1e-4;
/** The last interval's p99 may be at most this many times the first after the warm-up ... */
export const P99_FACTOR = 3;
/** ... or at most this many milliseconds above it: below that, a p99 is noise on a shared machine. */
export const P99_SLACK_MS = 5;

/** The rule in words, for the output and the docs. */
export const RULES_TEXT = [
  'The first 30 % of the samples (at least one) are the warm-up.',
  `Growth: a least-squares line through the lowest reading of each interval after the warm-up, extrapolated to an hour, fails the soak when it climbs faster than the limit ` +
    `and the last sample is above the warm-up's highest by more than the margin: ${GROWTH_LIMITS.map((g) => `${g.name} ${g.perHour} ${g.unit}/hour, margin ${g.margin} ${g.unit}`).join('; ')}. ` +
    'Lowest readings, because the heap is a sawtooth between garbage collections. ' +
    `RSS is judged only in runs of at least ${RSS_MIN_RUN_S / 60} minutes; shorter runs report it. ` +
    `Database rows (exact counts) and size (with indexes and dead rows) are those of every table but ${Object.entries(UNJUDGED_TABLES).map(([t, why]) => `${t} (${why})`).join(', ')}; ` +
    `the size is judged only in runs of at least ${DB_SIZE_MIN_RUN_S / 60} minutes, as autovacuum frees deleted rows' space once a minute.`,
  `Errors: failed calls plus WatchEvents streams that ended on their own must stay within ${ERROR_BUDGET * 100} % of the calls, and every stream must deliver events in every interval after the warm-up.`,
  `Latency: the last interval's p99 must not exceed ${P99_FACTOR}× the first post-warm-up interval's p99 by more than ${P99_SLACK_MS} ms.`,
];

/** How many samples are the warm-up. */
export function warmupCount(samples: number): number {
  return Math.max(1, Math.ceil(samples * 0.3));
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Judges a finished soak; `streams` is how many WatchEvents streams it held open. */
export function judgeSoak(samples: SoakSample[], streams: number): SoakCheck[] {
  const w = warmupCount(samples.length);
  const warm = samples.slice(0, w);
  const after = samples.slice(w);
  if (after.length < 3) {
    return [{ check: 'samples', rule: 'at least 3 samples after the warm-up', measured: `${after.length}`, pass: false }];
  }
  const checks: SoakCheck[] = [];
  const hours = after.map((s) => s.t / 3600);
  const last = after[after.length - 1]!;
  for (const g of GROWTH_LIMITS) {
    const perHour = slope(hours, after.map((s) => s[g.key]));
    const warmMax = Math.max(...warm.map((s) => s[g.key]));
    const above = last[g.key] > warmMax + g.margin;
    const judged = judgedAt(g.key, last.t);
    checks.push({
      check: `${g.name} growth`,
      rule: judged
        ? `≤ ${g.perHour} ${g.unit}/hour, or last ≤ warm-up's ${warmMax.toFixed(1)} + ${g.margin}`
        : `reported, not judged: the run is shorter than ${(g.key === 'dbMb' ? DB_SIZE_MIN_RUN_S : RSS_MIN_RUN_S) / 60} minutes`,
      measured: `${perHour >= 0 ? '+' : ''}${perHour.toFixed(1)} ${g.unit}/hour; last ${last[g.key].toFixed(1)}`,
      pass: !judged || !(perHour > g.perHour && above),
    });
  }
  const calls = samples.reduce((a, s) => a + s.calls, 0);
  const failed = samples.reduce((a, s) => a + s.errors + s.streamFailures, 0);
  const budget = Math.floor(calls * ERROR_BUDGET);
  checks.push({
    check: 'errors',
    rule: `≤ ${budget} (${ERROR_BUDGET * 100} % of ${calls} calls)`,
    measured: `${failed}${failed ? `; the first: ${samples.find((s) => s.firstError)?.firstError ?? 'a stream ended'}` : ''}`,
    pass: failed <= budget,
  });
  if (streams > 0) {
    const silent = after.filter((s) => s.streamEvents === 0).length;
    checks.push({ check: 'event streams', rule: 'events in every interval after the warm-up', measured: `${silent} silent intervals`, pass: silent === 0 });
  }
  const first = after[0]!.p99Ms;
  checks.push({
    check: 'p99 drift',
    rule: `last ≤ ${P99_FACTOR}× first (${first.toFixed(2)} ms) or ≤ first + ${P99_SLACK_MS} ms`,
    measured: `${last.p99Ms.toFixed(2)} ms`,
    pass: last.p99Ms <= Math.max(P99_FACTOR * first, first + P99_SLACK_MS),
  });
  return checks;
}
