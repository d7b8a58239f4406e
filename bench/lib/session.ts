// What a bench run holds while it runs: the load generator, the clean-up
// stack, and the phases and set-up steps measured so far. measure() runs one
// phase and prints its progress line.
import { performance } from 'node:perf_hooks';
import type { LoopResult } from './closed-loop.js';
import type { BenchOptions } from './options.js';
import { peakRssMb, resetPeakRss } from './process-memory.js';
import type { PhaseKind, PhaseResult, SetupStep } from './results.js';
import type { Worker } from './worker-ipc.js';

/** One phase to measure. */
export interface PhaseSpec {
  /** The name in the results. */
  scenario: string;
  /** The load generator's operation, when it is not named like the scenario. */
  operation?: string;
  kind: PhaseKind;
  concurrency: number;
  /** The roomgate server the load generator calls ('main' or 'scale'). */
  target?: string;
  /** The process serving the calls, whose peak RSS the phase reports. */
  servedBy?: number;
  storedPeers?: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** A running bench. */
export class Session {
  readonly phases: PhaseResult[] = [];
  readonly setup: SetupStep[] = [];
  readonly failures: string[] = [];
  private readonly failuresOf = new Map<PhaseResult, string[]>();
  private readonly cleanups: Array<() => Promise<unknown>> = [];
  private loadGenerator: Worker | undefined;
  /** The echo server's process, whose peak RSS the echo phases report. */
  echoPid: number | undefined;
  /** Set once clean-up began (the end, or Ctrl-C): what fails after that is not news. */
  closing = false;

  constructor(readonly options: BenchOptions) {}

  /** The load generator, once {@link useLoadGenerator} gave it. */
  get loadgen(): Worker {
    if (!this.loadGenerator) throw new Error('the load generator is not started');
    return this.loadGenerator;
  }

  /** Sets the load generator worker; it is stopped on close. */
  useLoadGenerator(worker: Worker): void {
    this.loadGenerator = worker;
    this.defer(() => worker.stop());
  }

  /** Runs `fn` on close, last registered first. */
  defer(fn: () => Promise<unknown>): void {
    this.cleanups.push(fn);
  }

  /** Runs a set-up step, timing it and printing a line when it ends. */
  async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    log(`setup: ${name} …`);
    const result = await fn();
    const seconds = (performance.now() - started) / 1000;
    this.setup.push({ step: name, seconds });
    log(`setup: ${name} done in ${seconds.toFixed(1)} s`);
    return result;
  }

  /**
   * Measures one phase. A phase that fails to start, or whose calls fail, is
   * recorded as a failure and the run goes on, so the report shows the rest.
   */
  async measure(spec: PhaseSpec): Promise<PhaseResult | undefined> {
    const { scenario, concurrency: c } = spec;
    const name = `${scenario} c=${c}${spec.storedPeers !== undefined ? ` (${spec.storedPeers.toLocaleString('en-US')} stored peers)` : ''}`;
    let result: LoopResult;
    let rss: number | null = null;
    try {
      await this.loadgen.request({ type: 'prepare', kind: spec.kind, scenario: spec.operation ?? scenario, target: spec.target, concurrency: c });
      if (spec.servedBy) resetPeakRss(spec.servedBy);
      result = await this.loadgen.request<LoopResult>({
        type: 'run',
        concurrency: c,
        warmupMs: this.options.warmupMs,
        durationMs: this.options.durationMs,
      });
      if (spec.servedBy) rss = peakRssMb(spec.servedBy);
    } catch (err) {
      if (this.closing) return undefined;
      this.failures.push(`${name}: could not run: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      log(`${name.padEnd(44)} FAILED to run`);
      return undefined;
    }
    const l = result.latency;
    const phase: PhaseResult = {
      scenario,
      kind: spec.kind,
      concurrency: c,
      calls: result.calls,
      errors: result.errors,
      firstError: result.firstError ?? null,
      seconds: result.elapsedMs / 1000,
      rps: result.rps,
      meanMs: l.meanMs,
      p50Ms: l.p50Ms,
      p95Ms: l.p95Ms,
      p99Ms: l.p99Ms,
      maxMs: l.maxMs,
      serverPeakRssMb: rss,
      endedEarly: result.exhausted,
      ...(spec.storedPeers !== undefined ? { storedPeers: spec.storedPeers } : {}),
    };
    this.phases.push(phase);
    const failed = [
      ...(result.errors > 0 ? [`${name}: ${result.errors} calls failed; the first: ${result.firstError}`] : []),
      ...(result.calls === 0 ? [`${name}: no call completed${result.exhausted ? ' (its inputs ran out)' : ''}`] : []),
    ];
    this.failures.push(...failed);
    this.failuresOf.set(phase, failed);
    log(
      `${name.padEnd(44)} ${phase.seconds.toFixed(1).padStart(5)}s ${phase.rps.toFixed(0).padStart(7)} rps` +
        `  p50 ${l.p50Ms.toFixed(2)} ms  p99 ${l.p99Ms.toFixed(2)} ms` +
        (rss !== null ? `  server peak ${rss.toFixed(0)} MB` : '') +
        (result.errors ? `  ${result.errors} ERRORS` : '') +
        (result.exhausted ? '  (inputs ran out early)' : ''),
    );
    return phase;
  }

  /** Drops a measured phase, and its failures, from the results, for a phase measured again. */
  discard(phase: PhaseResult): void {
    const i = this.phases.indexOf(phase);
    if (i >= 0) this.phases.splice(i, 1);
    for (const failure of this.failuresOf.get(phase) ?? []) this.failures.splice(this.failures.indexOf(failure), 1);
  }

  /** Runs the clean-ups, last first; an error in one does not skip the others. */
  async close(): Promise<void> {
    this.closing = true;
    for (const cleanup of this.cleanups.reverse()) {
      await cleanup().catch((err: unknown) => log(`clean-up failed: ${err instanceof Error ? err.message : String(err)}`));
    }
    this.cleanups.length = 0;
  }
}
