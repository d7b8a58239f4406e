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

/** The phases measured over the wire: roomgate's scenarios and the two baselines next to them. */
const overTheWire = (phases: PhaseResult[]) => phases.filter((p) => p.kind === 'grpc' || p.kind === 'echo' || p.kind === 'sql');

/** Lines against concurrency (log scale), one colour per scenario; `encoding` adds y and anything else. */
function againstConcurrency(title: string, subtitle: string, values: Array<{ concurrency: number }>, encoding: object): TopLevelSpec {
  const ticks = [...new Set(values.map((v) => v.concurrency))].sort((a, b) => a - b);
  return {
    title: { text: title, subtitle },
    width: 560,
    height: 340,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: 'concurrency',
        type: 'quantitative',
        title: 'concurrent callers',
        scale: { type: 'log', domain: [ticks[0] ?? 1, ticks.at(-1) ?? 1] },
        axis: { values: ticks },
      },
      color: { field: 'scenario', type: 'nominal' },
      ...encoding,
    },
  } as TopLevelSpec;
}

/** Latency (p50 solid, p99 dashed) against concurrency. */
export function latencySpec(phases: PhaseResult[], subtitle: string): TopLevelSpec {
  const values = overTheWire(phases).flatMap((p) => [
    { scenario: p.scenario, concurrency: p.concurrency, percentile: 'p50', ms: p.p50Ms },
    { scenario: p.scenario, concurrency: p.concurrency, percentile: 'p99', ms: p.p99Ms },
  ]);
  return againstConcurrency('Latency against concurrency', subtitle, values, {
    y: { field: 'ms', type: 'quantitative', title: 'latency (ms, log)', scale: { type: 'log' } },
    strokeDash: { field: 'percentile', type: 'nominal', legend: {
        symbolType: 'stroke',
        // Without this the dashes are drawn with no stroke colour, so the legend shows nothing.
        encode: { symbols: { update: { stroke: { value: 'black' }, strokeWidth: { value: 2 } } } },
      } },
    detail: { field: 'percentile' },
  });
}

/** Calls per second against concurrency. */
export function throughputSpec(phases: PhaseResult[], subtitle: string): TopLevelSpec {
  const values = overTheWire(phases).map((p) => ({ scenario: p.scenario, concurrency: p.concurrency, rps: p.rps }));
  return againstConcurrency('Throughput against concurrency', subtitle, values, {
    y: { field: 'rps', type: 'quantitative', title: 'calls per second (log)', scale: { type: 'log' } },
  });
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
