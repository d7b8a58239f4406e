// `npm run soak`: one roomgate server under a steady share of the load that
// saturates it, for minutes, while its heap, RSS, open fds, p99, Postgres
// connections and the database's rows and size are sampled; it fails when any
// of them grows without bound (bench/lib/soak-verdict.ts). Issues 7 and 12. Exit code 1 when a check fails or the
// run stops short, 2 for bad usage.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoopResult } from './lib/closed-loop.js';
import { describeMachine } from './lib/machine.js';
import { SOAK_LIMITS, SOAK_WEIGHTS } from './lib/soak-mix.js';
import type { IntervalStats, OperationTotals } from './lib/soak-open-loop.js';
import { parseSoakOptions, SOAK_USAGE, type SoakOptions } from './lib/soak-options.js';
import { DatabaseProbe, readServerMemory, type ServerMemory } from './lib/soak-probe.js';
import { soakSection, textReport, writeSoakSection, type SoakResults } from './lib/soak-report.js';
import { startRig, type Rig, type RigServer } from './lib/soak-rig.js';
import type { StreamStats } from './lib/soak-streams.js';
import { judgeSoak, UNJUDGED_TABLES, type SoakSample } from './lib/soak-verdict.js';

const DOCS_FILE = 'docs/reliability.md';
const log = (line: string) => process.stderr.write(`${line}\n`);
const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Between the memory readings of one interval: several, because the heap is a sawtooth and its floor is what leaks raise. */
function probeEveryMs(sampleMs: number): number {
  return Math.min(10_000, Math.max(1_000, sampleMs / 6));
}

async function measureSaturation(rig: Rig, o: SoakOptions): Promise<SoakResults['saturation']> {
  log(`saturation: the mix in a closed loop, ${o.saturationConcurrency} callers, ${o.saturationWarmupMs / 1000} s warm-up + ${o.saturationMs / 1000} s …`);
  const r = await rig.loadgen.request<LoopResult>({
    type: 'saturate',
    concurrency: o.saturationConcurrency,
    warmupMs: o.saturationWarmupMs,
    durationMs: o.saturationMs,
  });
  if (r.errors > 0) throw new Error(`the saturation run had ${r.errors} failed calls; the first: ${r.firstError}`);
  log(`saturation: ${r.rps.toFixed(0)} calls/s, p50 ${r.latency.p50Ms.toFixed(2)} ms, p99 ${r.latency.p99Ms.toFixed(2)} ms`);
  return { concurrency: o.saturationConcurrency, seconds: r.elapsedMs / 1000, rps: r.rps, p50Ms: r.latency.p50Ms, p99Ms: r.latency.p99Ms, errors: r.errors };
}

/** Runs the open loop for the whole duration and takes one sample per --sample; resolves with the largest tables at the end. */
async function sampleSoak(rig: Rig, server: RigServer, o: SoakOptions, samples: SoakSample[]): Promise<SoakResults['tables']> {
  const port = server.metricsPort!;
  const db = await DatabaseProbe.open(rig.databaseUrl);
  try {
    const count = Math.floor(o.durationMs / o.sampleMs);
    const start = performance.now();
    for (let i = 1; i <= count; i++) {
      const end = start + i * o.sampleMs;
      const readings: ServerMemory[] = [];
      for (let now = performance.now(); end - now > 500; now = performance.now()) {
        await sleep(Math.min(probeEveryMs(o.sampleMs), end - now - 250));
        // A reading that fails mid-interval is skipped; the one at the end must succeed.
        if (performance.now() < end - 250) await readServerMemory(port).then((m) => readings.push(m), () => undefined);
      }
      await sleep(Math.max(0, end - performance.now()));
      const [worker, memory, usage] = await Promise.all([
        rig.loadgen.request<{ loop: IntervalStats; streams: StreamStats; live: { rooms: number; peers: number } }>({ type: 'sample' }),
        readServerMemory(port),
        db.usage(),
      ]);
      const judgedTables = (await db.tableUsage()).filter((u) => !(u.table in UNJUDGED_TABLES));
      readings.push(memory);
      const { loop, streams, live } = worker;
      const sample: SoakSample = {
        t: (performance.now() - start) / 1000,
        calls: loop.calls,
        rps: loop.calls / loop.seconds,
        errors: loop.errors,
        firstError: loop.firstError ?? streams.firstFailure ?? null,
        p50Ms: loop.latency.p50Ms,
        p99Ms: loop.latency.p99Ms,
        maxMs: loop.latency.maxMs,
        maxLagMs: loop.maxLagMs,
        heapMb: memory.heapUsedMb,
        heapFloorMb: Math.min(...readings.map((m) => m.heapUsedMb)),
        rssMb: memory.rssMb,
        rssFloorMb: Math.min(...readings.map((m) => m.rssMb)),
        fds: memory.openFds,
        fdsFloor: Math.min(...readings.map((m) => m.openFds)),
        pgConnections: usage.connections,
        dbSizeMb: usage.sizeMb,
        dbRows: judgedTables.reduce((a, u) => a + u.rows, 0),
        dbMb: judgedTables.reduce((a, u) => a + u.bytes, 0) / 2 ** 20,
        eventRows: judgedTables.find((u) => u.table === 'events')?.rows ?? 0,
        streamEvents: streams.events,
        streamFailures: streams.failures,
        liveRooms: live.rooms,
        livePeers: live.peers,
      };
      samples.push(sample);
      log(
        `  [${i}/${count}] t=${sample.t.toFixed(0)}s ${sample.rps.toFixed(0)} calls/s, p99 ${sample.p99Ms.toFixed(2)} ms, ` +
          `heap ${sample.heapMb.toFixed(1)} MB (floor ${sample.heapFloorMb.toFixed(1)}), RSS ${sample.rssMb.toFixed(1)} MB, ` +
          `fds ${sample.fds}, pg ${sample.pgConnections}, events ${sample.streamEvents}, ` +
          `db ${sample.dbRows} rows (events ${sample.eventRows}) ${sample.dbMb.toFixed(1)} MB` +
          (sample.errors + sample.streamFailures ? `, ${sample.errors + sample.streamFailures} ERRORS (${sample.firstError})` : ''),
      );
    }
    return await db.largestTables(5);
  } finally {
    await db.close();
  }
}

async function runSoak(o: SoakOptions, commandLine: string): Promise<SoakResults> {
  const startedAt = new Date().toISOString();
  const samples: SoakSample[] = [];
  const failures: string[] = [];
  let operations: OperationTotals[] = [];
  let tables: SoakResults['tables'] = [];
  let saturation: SoakResults['saturation'] = null;
  let rate = o.rate ?? 0;
  let postgres = 'not started';
  let rig: Rig | undefined;
  try {
    rig = await startRig(o.databaseUrl, o.serverEnv);
    postgres = rig.postgres;
    const server = await rig.startServer();
    if (server.metricsPort === undefined) throw new Error('roomgate serves no /metrics (ROOMGATE_METRICS_ADDRESS=off?); the soak reads the heap there');
    await rig.loadgen.request({ type: 'connect', address: server.address, token: await rig.managementToken(), streams: o.streams });
    await rig.loadgen.request({ type: 'populate', rooms: SOAK_LIMITS.minRooms * 2 });
    if (o.rate === undefined) {
      saturation = await measureSaturation(rig, o);
      rate = saturation!.rps * o.loadFraction;
    }
    log(`soak: ${rate.toFixed(0)} calls/s, open loop, ${o.streams} WatchEvents streams, ${o.durationMs / 1000} s, a sample every ${o.sampleMs / 1000} s`);
    await rig.loadgen.request({ type: 'startOpenLoop', rate });
    tables = await sampleSoak(rig, server, o, samples);
    ({ operations } = await rig.loadgen.request<{ operations: OperationTotals[] }>({ type: 'finish' }));
  } catch (err) {
    failures.push(`the run stopped: ${describe(err)}`);
    log(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await rig?.close();
  }
  const checks = judgeSoak(samples, o.streams);
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    commandLine,
    settings: {
      durationMs: o.durationMs,
      sampleMs: o.sampleMs,
      loadFraction: o.loadFraction,
      rate: o.rate ?? null,
      saturationConcurrency: o.saturationConcurrency,
      saturationMs: o.saturationMs,
      streams: o.streams,
      mix: Object.entries(SOAK_WEIGHTS).map(([call, weight]) => `${call} ${weight} %`).join(', '),
      limits: SOAK_LIMITS,
      serverEnv: o.serverEnv,
      eventRetentionSeconds: o.eventRetentionSeconds ?? null,
    },
    machine: describeMachine(postgres),
    saturation,
    rate,
    samples,
    operations,
    tables,
    checks,
    passed: failures.length === 0 && checks.every((c) => c.pass),
    failures,
  };
}

async function main(argv: string[]): Promise<number> {
  let options: SoakOptions | 'help';
  try {
    options = parseSoakOptions(argv, process.env);
  } catch (err) {
    process.stderr.write(`${describe(err)}\n\n${SOAK_USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${SOAK_USAGE}\n`);
    return 0;
  }
  const results = await runSoak(options, `npm run soak${argv.length ? ' -- ' + argv.join(' ') : ''}`);
  await mkdir(options.out, { recursive: true });
  const json = path.join(options.out, 'soak-latest.json');
  await writeFile(json, JSON.stringify(results, null, 2) + '\n');
  log(`wrote ${json}`);
  if (options.writeDocs) {
    const relative = path.relative(path.dirname(DOCS_FILE), json).split(path.sep).join('/');
    await writeSoakSection(DOCS_FILE, soakSection(results, relative));
    log(`wrote the soak section of ${DOCS_FILE}`);
  }
  process.stdout.write(`\n${textReport(results)}\n`);
  return results.passed ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
