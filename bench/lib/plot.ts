// The plots, as SVG: Vega-Lite specs compiled to Vega and rendered headless
// (no canvas; text widths are estimated, which is fine for axis labels).
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { PhaseResult } from './results.js';

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const logConcurrency = { field: 'concurrency', type: 'quantitative', title: 'concurrent callers', scale: { type: 'log' } } as const;

/** Latency (p50 solid, p99 dashed) against concurrency, one colour per scenario, for what runs over the wire. */
export function latencySpec(phases: PhaseResult[], subtitle: string): TopLevelSpec {
  const values = phases
    .filter((p) => p.kind === 'grpc' || p.kind === 'echo' || p.kind === 'sql')
    .flatMap((p) => [
      { scenario: p.scenario, concurrency: p.concurrency, percentile: 'p50', ms: p.p50Ms },
      { scenario: p.scenario, concurrency: p.concurrency, percentile: 'p99', ms: p.p99Ms },
    ]);
  return {
    title: { text: 'Latency against concurrency', subtitle },
    width: 560,
    height: 340,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: logConcurrency,
      y: { field: 'ms', type: 'quantitative', title: 'latency (ms, log)', scale: { type: 'log' } },
      color: { field: 'scenario', type: 'nominal' },
      strokeDash: { field: 'percentile', type: 'nominal', legend: { symbolType: 'stroke', symbolStrokeWidth: 2 } },
      detail: { field: 'percentile' },
    },
  };
}

/** Calls per second against concurrency, one line per scenario and baseline. */
export function throughputSpec(phases: PhaseResult[], subtitle: string): TopLevelSpec {
  const values = phases
    .filter((p) => p.kind === 'grpc' || p.kind === 'echo' || p.kind === 'sql')
    .map((p) => ({ scenario: p.scenario, concurrency: p.concurrency, rps: p.rps }));
  return {
    title: { text: 'Throughput against concurrency', subtitle },
    width: 560,
    height: 340,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: logConcurrency,
      y: { field: 'rps', type: 'quantitative', title: 'calls per second (log)', scale: { type: 'log' } },
      color: { field: 'scenario', type: 'nominal' },
    },
  };
}

/** In-process token operations per second, grouped by scenario, one bar per concurrency. */
export function tokensSpec(phases: PhaseResult[], subtitle: string): TopLevelSpec {
  const values = phases
    .filter((p) => p.kind === 'tokens')
    .map((p) => ({ scenario: p.scenario, callers: `c=${p.concurrency}`, rps: p.rps }));
  return {
    title: { text: 'In-process token operations', subtitle },
    width: 480,
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'scenario', type: 'nominal', title: null, sort: null },
      yOffset: { field: 'callers' },
      x: { field: 'rps', type: 'quantitative', title: 'operations per second' },
      color: { field: 'callers', type: 'nominal', title: 'concurrency' },
    },
  };
}
