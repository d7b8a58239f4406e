// The table and the targets, from the phases of a run. Ratios compare
// phases at the same concurrency, measured minutes apart in one run.
import type { BenchResults, PhaseResult, TargetResult } from './results.js';

type Find = (scenario: string, concurrency: number) => PhaseResult | undefined;

function finder(phases: PhaseResult[]): Find {
  return (scenario, concurrency) => phases.find((p) => p.scenario === scenario && p.concurrency === concurrency);
}

/** The baselines each roomgate figure is compared with. */
const BASELINES: Record<string, string[]> = {
  CreatePeer: ['echo', 'sql:CreatePeer'],
  VerifyPeerToken: ['echo'],
  RefreshPeerToken: ['echo'],
  GetRoom: ['echo'],
  ListPeers: ['echo'],
  'roomgate:mint': ['livekit:toJwt', 'jose:sign', 'node:ed25519-sign'],
  'roomgate:verify': ['livekit:verify', 'jose:verify', 'node:ed25519-verify'],
  'verifier:verify': ['node:ed25519-verify-token'],
};

/** "0.42× echo, 0.81× sql:CreatePeer": the phase's RPS over each baseline's at the same concurrency. */
export function ratioText(phase: PhaseResult, find: Find): string {
  return (BASELINES[phase.scenario] ?? [])
    .map((b) => {
      const base = find(b, phase.concurrency);
      return base && base.rps > 0 ? `${(phase.rps / base.rps).toFixed(2)}× ${b}` : undefined;
    })
    .filter(Boolean)
    .join(', ');
}

const fixed = (n: number, digits: number) => n.toFixed(digits);

/** Header and rows of the results table, as text cells. */
export function tableRows(results: BenchResults): string[][] {
  const find = finder(results.phases);
  const rows = results.phases.map((p) => [
    p.scenario + (p.storedPeers !== undefined ? ` (${p.storedPeers.toLocaleString('en-US')} stored)` : ''),
    String(p.concurrency),
    String(p.calls),
    fixed(p.rps, 0),
    fixed(p.p50Ms, 2),
    fixed(p.p95Ms, 2),
    fixed(p.p99Ms, 2),
    ratioText(p, find) || '-',
    p.serverPeakRssMb === null ? '-' : fixed(p.serverPeakRssMb, 0),
    [p.errors ? `${p.errors} errors` : '', p.endedEarly ? 'inputs ran out early' : ''].filter(Boolean).join('; '),
  ]);
  return [['scenario', 'c', 'calls', 'rps', 'p50 ms', 'p95 ms', 'p99 ms', 'vs baselines', 'server peak RSS MB', 'note'], ...rows];
}

/** Rows as aligned plain text. */
export function textTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Rows as a Markdown table. */
export function markdownTable(rows: string[][]): string {
  const line = (r: string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(rows[0]!), line(rows[0]!.map(() => '---')), ...rows.slice(1).map(line)].join('\n');
}

function atLeast(figure: string, target: number, a: PhaseResult | undefined, b: PhaseResult | undefined): TargetResult {
  const detail = a && b ? `${a.scenario} ${a.rps.toFixed(0)} rps / ${b.scenario} ${b.rps.toFixed(0)} rps at c=${a.concurrency}` : 'not measured';
  if (!a || !b || b.rps === 0) return { figure, target: `≥ ${target}`, measured: null, verdict: 'n/a', detail };
  const ratio = a.rps / b.rps;
  return { figure, target: `≥ ${target}`, measured: ratio, verdict: ratio >= target ? 'PASS' : 'MISS', detail };
}

/** Issue 6's targets, judged on this run. */
export function judgeTargets(
  phases: PhaseResult[],
  at: { grpcConcurrency: number; tokenConcurrency: number },
): TargetResult[] {
  const find = finder(phases);
  const g = at.grpcConcurrency;
  const t = at.tokenConcurrency;
  const targets = [
    atLeast('VerifyPeerToken RPS / echo RPS (distinct tokens)', 0.8, find('VerifyPeerToken', g), find('echo', g)),
    atLeast('CreatePeer RPS / echo RPS', 0.5, find('CreatePeer', g), find('echo', g)),
    atLeast('CreatePeer RPS / direct-SQL CreatePeer RPS', 0.5, find('CreatePeer', g), find('sql:CreatePeer', g)),
    atLeast('in-process mint / livekit AccessToken.toJwt', 1.0, find('roomgate:mint', t), find('livekit:toJwt', t)),
    atLeast('in-process verify / livekit TokenVerifier.verify', 0.6, find('roomgate:verify', t), find('livekit:verify', t)),
    atLeast('offline verifier / bare node:crypto Ed25519 verify (same tokens)', 0.9, find('verifier:verify', t), find('node:ed25519-verify-token', t)),
  ];
  const scale = phases.filter((p) => p.kind === 'scale');
  const small = scale[0];
  const big = scale.at(-1);
  if (small && big && small !== big && small.p50Ms > 0) {
    const ratio = big.p50Ms / small.p50Ms;
    targets.push({
      figure: 'CreatePeer p50 at the big seed / p50 at 1k',
      target: '≤ 1.2',
      measured: ratio,
      verdict: ratio <= 1.2 ? 'PASS' : 'MISS',
      detail: `${big.p50Ms.toFixed(2)} ms with ${big.storedPeers} stored / ${small.p50Ms.toFixed(2)} ms with ${small.storedPeers} stored, c=${small.concurrency}`,
    });
  } else {
    targets.push({ figure: 'CreatePeer p50 at the big seed / p50 at 1k', target: '≤ 1.2', measured: null, verdict: 'n/a', detail: 'not measured' });
  }
  const served = phases.filter((p) => (p.kind === 'grpc' || p.kind === 'scale') && p.serverPeakRssMb !== null);
  const heaviest = served.reduce<PhaseResult | undefined>((m, p) => (!m || p.serverPeakRssMb! > m.serverPeakRssMb! ? p : m), undefined);
  targets.push(
    heaviest
      ? {
          figure: 'roomgate server peak RSS, heaviest scenario (MB)',
          target: '≤ 200',
          measured: heaviest.serverPeakRssMb,
          verdict: heaviest.serverPeakRssMb! <= 200 ? 'PASS' : 'MISS',
          detail: `${heaviest.scenario} at c=${heaviest.concurrency}`,
        }
      : { figure: 'roomgate server peak RSS, heaviest scenario (MB)', target: '≤ 200', measured: null, verdict: 'n/a', detail: 'not measured' },
  );
  return targets;
}

/** Header and rows of the targets table. */
export function targetRows(targets: TargetResult[]): string[][] {
  return [
    ['figure', 'target', 'measured', 'verdict', 'compared'],
    ...targets.map((t) => [t.figure, t.target, t.measured === null ? '-' : t.measured.toFixed(2), t.verdict, t.detail]),
  ];
}
