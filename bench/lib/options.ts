import { parseArgs } from 'node:util';

/** What `npm run bench -- ...` asked for. */
export interface BenchOptions {
  smoke: boolean;
  /** Recorded milliseconds per phase, and the unrecorded warm-up before it. */
  durationMs: number;
  warmupMs: number;
  /** Callers of the gRPC scenarios and the baselines next to them. */
  concurrency: number[];
  /** Callers of the in-process token scenarios. */
  tokenConcurrency: number[];
  /** Callers of the scale run's CreatePeer. */
  scaleConcurrency: number;
  /** Stored peers of the scale run's second measurement (the first has 1,000). */
  scalePeers: number;
  /** Peers in the ListPeers room. */
  listPeers: number;
  /** The concurrency at which the gRPC targets are judged. */
  targetConcurrency: number;
  /** Scenario groups to run (see {@link SCENARIO_GROUPS}). */
  scenarios: Set<ScenarioGroup>;
  /** Directory of the results. */
  out: string;
  writeDocs: boolean;
  /** Regenerate docs/benchmarks.md from this results file and run nothing. */
  docsFrom: string | undefined;
  /** Extra environment of the roomgate servers (ROOMGATE_LOG_LEVEL=warn, ...). */
  serverEnv: Record<string, string>;
  /** Where each roomgate server writes a V8 CPU profile (node --cpu-prof) when it stops; undefined: none. */
  profileDir: string | undefined;
  /** Postgres to use instead of an embedded one; the bench makes and drops its own databases there. */
  databaseUrl: string | undefined;
}

/** The names `--scenarios` takes. */
export const SCENARIO_GROUPS = [
  'echo',
  'sql',
  'CreatePeer',
  'VerifyPeerToken',
  'RefreshPeerToken',
  'GetRoom',
  'ListPeers',
  'tokens',
  'scale',
] as const;
/** One of {@link SCENARIO_GROUPS}. */
export type ScenarioGroup = (typeof SCENARIO_GROUPS)[number];

/** Usage text of the bench. */
export const USAGE = `Usage: npm run bench -- [options]

Starts Postgres (embedded, or on DATABASE_URL, where it makes and drops databases
of its own), roomgate and a load generator in separate processes, measures every
scenario next to its baselines, and writes the results under --out.

  --duration 5s             recorded time per phase (ms, s or m)
  --warmup 1s               unrecorded warm-up before each phase
  --concurrency 1,8,64,256  callers of the gRPC scenarios and their baselines
  --token-concurrency 1,64  callers of the in-process token scenarios
  --scale-concurrency 8     callers of the scale run's CreatePeer
  --scale-peers 1000000     stored peers of the scale run's second measurement
  --list-peers 1000         peers in the ListPeers room
  --target-concurrency 64   concurrency at which the gRPC targets are judged
  --scenarios a,b           any of: ${SCENARIO_GROUPS.join(', ')}
  --out DIR                 bench/results (bench/results/smoke with --smoke)
  --write-docs              also write docs/benchmarks.md from this run
  --docs-from FILE          only rewrite docs/benchmarks.md from a results JSON
  --server-env KEY=VALUE    extra environment for roomgate (repeatable)
  --profile DIR             each roomgate server writes a CPU profile (.cpuprofile) into DIR
  --smoke                   every scenario, briefly: proves the harness, asserts no speed
                            (250ms phases, c=1,4, 60 peers to list, 3,000 peers at scale)

Exits non-zero when any call of any phase fails. Targets that are missed are
reported (MISS), not turned into a failure.`;

/** Parses `500ms`, `5s` or `2m` into milliseconds. */
export function parseDurationMs(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value);
  if (!match) throw new Error(`${flag} must be a number followed by ms, s or m, such as 5s`);
  return Math.round(Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm']);
}

function positiveInts(flag: string, value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`${flag} must be positive integers separated by commas`);
  }
  return list;
}

function scenarioGroups(value: string): Set<ScenarioGroup> {
  const groups = new Set<ScenarioGroup>();
  for (const name of value.split(',').map((s) => s.trim())) {
    const group = SCENARIO_GROUPS.find((g) => g.toLowerCase() === name.toLowerCase());
    if (!group) throw new Error(`--scenarios: unknown ${name}; choose from ${SCENARIO_GROUPS.join(', ')}`);
    groups.add(group);
  }
  return groups;
}

/**
 * Reads the command line and the bench's one environment variable,
 * DATABASE_URL. --smoke changes the defaults; flags given still win.
 */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean', default: false },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      concurrency: { type: 'string' },
      'token-concurrency': { type: 'string' },
      'scale-concurrency': { type: 'string' },
      'scale-peers': { type: 'string' },
      'list-peers': { type: 'string' },
      'target-concurrency': { type: 'string' },
      scenarios: { type: 'string' },
      out: { type: 'string' },
      'write-docs': { type: 'boolean', default: false },
      'docs-from': { type: 'string' },
      'server-env': { type: 'string', multiple: true, default: [] },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const smoke = values.smoke;
  const int = (flag: string, value: string | undefined, fallback: number) =>
    value === undefined ? fallback : positiveInts(`--${flag}`, value)[0]!;
  const serverEnv: Record<string, string> = {};
  for (const pair of values['server-env']) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error('--server-env takes KEY=VALUE');
    serverEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const concurrency = positiveInts('--concurrency', values.concurrency ?? (smoke ? '1,4' : '1,8,64,256'));
  return {
    smoke,
    durationMs: parseDurationMs('--duration', values.duration ?? (smoke ? '250ms' : '5s')),
    warmupMs: parseDurationMs('--warmup', values.warmup ?? (smoke ? '50ms' : '1s')),
    concurrency,
    tokenConcurrency: positiveInts('--token-concurrency', values['token-concurrency'] ?? (smoke ? '1,4' : '1,64')),
    scaleConcurrency: int('scale-concurrency', values['scale-concurrency'], smoke ? 4 : 8),
    scalePeers: int('scale-peers', values['scale-peers'], smoke ? 3_000 : 1_000_000),
    listPeers: int('list-peers', values['list-peers'], smoke ? 60 : 1_000),
    targetConcurrency: int('target-concurrency', values['target-concurrency'], smoke ? 4 : 64),
    scenarios: values.scenarios ? scenarioGroups(values.scenarios) : new Set(SCENARIO_GROUPS),
    out: values.out ?? (smoke ? 'bench/results/smoke' : 'bench/results'),
    writeDocs: values['write-docs'],
    docsFrom: values['docs-from'],
    serverEnv,
    profileDir: values.profile,
    databaseUrl: env.DATABASE_URL || undefined,
  };
}
