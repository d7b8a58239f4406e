// The shape of bench/results/latest.json: everything the table, the plots
// and docs/benchmarks.md are made from.

/** Which side of the comparison a phase is on. */
export type PhaseKind = 'grpc' | 'echo' | 'sql' | 'tokens' | 'scale';

/** One measured phase: one scenario at one concurrency. */
export interface PhaseResult {
  scenario: string;
  kind: PhaseKind;
  concurrency: number;
  /** Recorded successful calls. */
  calls: number;
  errors: number;
  firstError: string | null;
  /** Recorded seconds (after the warm-up). */
  seconds: number;
  rps: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Peak RSS of the process that served the calls (roomgate or echo) during the phase; null in process. */
  serverPeakRssMb: number | null;
  /** True when the phase ran out of distinct inputs before its time was up. */
  endedEarly: boolean;
  /** Scale run: peers stored when the phase started. */
  storedPeers?: number;
}

/** A set-up step and how long it took. */
export interface SetupStep {
  step: string;
  seconds: number;
}

/** One figure of issue 6's target table. */
export interface TargetResult {
  figure: string;
  target: string;
  /** The measured ratio (or MB), null when a side was not measured. */
  measured: number | null;
  /** 'PASS' or 'MISS', or 'n/a' when not measured. */
  verdict: 'PASS' | 'MISS' | 'n/a';
  /** What was compared, at which concurrency. */
  detail: string;
}

/** The machine the numbers come from. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  postgres: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine. */
  loadAverageAtStart: number[];
}

/** A whole run. */
export interface BenchResults {
  smoke: boolean;
  startedAt: string;
  finishedAt: string;
  /** The command line's settings, for reproducing the run. */
  settings: Record<string, unknown>;
  machine: MachineInfo;
  setup: SetupStep[];
  phases: PhaseResult[];
  targets: TargetResult[];
  /** Phases whose calls failed, or that could not run; any makes the bench exit non-zero. */
  failures: string[];
}
