// `npm run bench:instances`: throughput of 1, 2 and 3 roomgate servers on one
// Postgres database (issue 7, for docs/scaling.md). The load generator's
// closed-loop callers are spread over the servers: caller i calls CreatePeer
// on server i mod N, then VerifyPeerToken of the new token on the next server.
// Around each run it reads the database's transactions (pg_stat_database's
// xact_commit, which counts read-only statements too) and the
// CPU time of Postgres's processes, of the servers and of the load generator
// (/proc/PID/stat), to estimate where the single database would saturate.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { LoopResult } from './lib/closed-loop.js';
import { describeMachine } from './lib/machine.js';
import { parseDurationMs } from './lib/options.js';
import { markdownTable, textTable } from './lib/report.js';
import { parseServerEnv } from './lib/soak-options.js';
import { cpuSeconds, DatabaseProbe } from './lib/soak-probe.js';
import { startRig, type Rig, type RigServer } from './lib/soak-rig.js';

const USAGE = `Usage: npm run bench:instances -- [options]

Starts Postgres (embedded, or on DATABASE_URL, where it makes and drops a
database of its own), then 1, 2 and 3 roomgate servers on that one database,
and measures CreatePeer + VerifyPeerToken across them in a closed loop.

  --instances 1,2,3        server counts to measure, each run adding servers
  --concurrency 64         closed-loop callers, spread over the servers
  --duration 20s           recorded time per server count (ms, s or m)
  --warmup 3s              unrecorded calls before each
  --out DIR                where scale-out-latest.json goes (bench/results)
  --server-env KEY=VALUE   extra environment for roomgate (repeatable)`;

/** One server count's figures. */
interface ScaleRow {
  instances: number;
  calls: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  transactionsPerSecond: number;
  /** CPU used over the run, in cores (CPU seconds per second); null where /proc does not tell. */
  postgresCores: number | null;
  roomgateCores: number | null;
  loadgenCores: number | null;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function totalCpu(pids: number[]): number | null {
  let sum = 0;
  for (const pid of pids) {
    const s = cpuSeconds(pid);
    if (s === null) return null;
    sum += s;
  }
  return sum;
}

async function measure(rig: Rig, db: DatabaseProbe, servers: RigServer[], n: number, o: { concurrency: number; durationMs: number; warmupMs: number }): Promise<ScaleRow> {
  const run = (durationMs: number) =>
    rig.loadgen.request<LoopResult>({ type: 'scaleOut', instances: n, concurrency: o.concurrency, warmupMs: 0, durationMs });
  await run(o.warmupMs);
  // Postgres's processes that live through the run: the pools' backends and the background workers.
  const groups = { postgres: await db.serverPids(), roomgate: servers.map((s) => s.pid), loadgen: [rig.loadgen.pid] };
  const cpu = () => Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, totalCpu(pids)])) as Record<keyof typeof groups, number | null>;
  const before = { cpu: cpu(), transactions: await db.transactions(), at: performance.now() };
  const r = await run(o.durationMs);
  const after = { cpu: cpu(), at: performance.now() };
  // pg_stat_database lags a busy backend's transactions by up to a second.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const transactions = await db.transactions();
  const seconds = (after.at - before.at) / 1000;
  const cores = (k: keyof typeof groups) => {
    const a = after.cpu[k];
    const b = before.cpu[k];
    return a === null || b === null ? null : (a - b) / seconds;
  };
  return {
    instances: n,
    calls: r.calls,
    errors: r.errors,
    rps: r.rps,
    p50Ms: r.latency.p50Ms,
    p99Ms: r.latency.p99Ms,
    transactionsPerSecond: (transactions - before.transactions) / seconds,
    postgresCores: cores('postgres'),
    roomgateCores: cores('roomgate'),
    loadgenCores: cores('loadgen'),
  };
}

const cell = (n: number | null, digits: number) => (n === null ? 'n/a' : n.toFixed(digits));

function rows(results: ScaleRow[]): string[][] {
  return [
    ['instances', 'calls/s', 'p50 ms', 'p99 ms', 'errors', 'xact_commit/s', 'Postgres CPU (cores)', 'roomgate CPU (cores, all)', 'load generator CPU (cores)', 'Postgres CPU ms per call'],
    ...results.map((r) => [
      String(r.instances),
      r.rps.toFixed(0),
      r.p50Ms.toFixed(2),
      r.p99Ms.toFixed(2),
      String(r.errors),
      r.transactionsPerSecond.toFixed(0),
      cell(r.postgresCores, 2),
      cell(r.roomgateCores, 2),
      cell(r.loadgenCores, 2),
      r.postgresCores === null || r.rps === 0 ? 'n/a' : ((r.postgresCores * 1000) / r.rps).toFixed(3),
    ]),
  ];
}

/**
 * Where Postgres alone would run out of CPU: the calls (and transactions) per
 * second it served per core it used, times the machine's cores. It ignores
 * WAL fsync and lock waits, so it is an upper bound for this mix.
 */
function saturationEstimate(results: ScaleRow[], cores: number): string {
  const r = results.filter((x) => x.postgresCores).at(-1);
  if (!r || !r.postgresCores) return 'No estimate: the CPU time of the Postgres processes could not be read (a remote DATABASE_URL?).';
  const calls = (r.rps / r.postgresCores) * cores;
  const transactions = (r.transactionsPerSecond / r.postgresCores) * cores;
  return (
    `Estimate: at ${r.instances} instance(s) Postgres used ${r.postgresCores.toFixed(2)} cores for ${r.rps.toFixed(0)} calls/s ` +
    `(${r.transactionsPerSecond.toFixed(0)} transactions/s). With all ${cores} cores of this machine to itself and the servers elsewhere, ` +
    `it would run out of CPU near ${calls.toFixed(0)} calls/s of this mix (${transactions.toFixed(0)} transactions/s), ` +
    'an upper bound: WAL fsync and lock waits are not in it.'
  );
}

/** What `npm run bench:instances -- ...` asked for. */
interface ScaleOptions {
  instances: number[];
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  out: string;
  serverEnv: Record<string, string>;
}

async function main(argv: string[]): Promise<number> {
  let o: ScaleOptions;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        instances: { type: 'string', default: '1,2,3' },
        concurrency: { type: 'string', default: '64' },
        duration: { type: 'string', default: '20s' },
        warmup: { type: 'string', default: '3s' },
        out: { type: 'string', default: 'bench/results' },
        'server-env': { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const instances = values.instances.split(',').map(Number);
    const concurrency = Number(values.concurrency);
    if (instances.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(concurrency) || concurrency < 1) {
      throw new Error('--instances and --concurrency take positive integers');
    }
    o = {
      instances: [...new Set(instances)].sort((a, b) => a - b),
      concurrency,
      durationMs: parseDurationMs('--duration', values.duration),
      warmupMs: parseDurationMs('--warmup', values.warmup),
      out: values.out,
      serverEnv: parseServerEnv(values['server-env']),
    };
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`);
    return 2;
  }
  const startedAt = new Date().toISOString();
  const results: ScaleRow[] = [];
  const failures: string[] = [];
  let postgres = 'not started';
  let rig: Rig | undefined;
  try {
    rig = await startRig(process.env.DATABASE_URL || undefined, o.serverEnv);
    postgres = rig.postgres;
    const db = await DatabaseProbe.open(rig.databaseUrl);
    try {
      const servers: RigServer[] = [];
      for (const n of o.instances) {
        while (servers.length < n) servers.push(await rig.startServer());
        await rig.loadgen.request({ type: 'connectInstances', addresses: servers.slice(0, n).map((s) => s.address), token: await rig.managementToken(), rooms: o.concurrency });
        log(`${n} instance(s): ${o.concurrency} callers, ${o.warmupMs / 1000} s warm-up + ${o.durationMs / 1000} s …`);
        const row = await measure(rig, db, servers.slice(0, n), n, o);
        results.push(row);
        log(`${n} instance(s): ${row.rps.toFixed(0)} calls/s, p99 ${row.p99Ms.toFixed(2)} ms, ${row.transactionsPerSecond.toFixed(0)} transactions/s${row.errors ? `, ${row.errors} ERRORS` : ''}`);
        if (row.errors) failures.push(`${n} instance(s): ${row.errors} calls failed`);
      }
    } finally {
      await db.close();
    }
  } catch (err) {
    failures.push(`the run stopped: ${err instanceof Error ? err.message : String(err)}`);
    log(`bench:instances: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await rig?.close();
  }
  const machine = describeMachine(postgres);
  const estimate = saturationEstimate(results, machine.cores);
  await mkdir(o.out, { recursive: true });
  const json = path.join(o.out, 'scale-out-latest.json');
  await writeFile(json, JSON.stringify({ startedAt, finishedAt: new Date().toISOString(), commandLine: `npm run bench:instances${argv.length ? ' -- ' + argv.join(' ') : ''}`, settings: o, machine, results, estimate, failures }, null, 2) + '\n');
  log(`wrote ${json}`);
  const m = machine;
  process.stdout.write(
    `\n${textTable(rows(results))}\n\n${estimate}\n\n` +
      `Machine: ${m.cpu}, ${m.cores} cores (${os.loadavg()[0]!.toFixed(2)} load now), ${m.os}, Node ${m.node}; ${m.postgres}. ` +
      'Every server, Postgres and the load generator share these cores.\n\n' +
      `Markdown, for docs/scaling.md:\n\n${markdownTable(rows(results))}\n` +
      (failures.length ? `\nFAILED:\n${failures.map((f) => `  ${f}`).join('\n')}\n` : ''),
  );
  return failures.length ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
