// `npm run bench`: the orchestrator. It starts Postgres, roomgate, the echo
// server and the load generator, runs the phases (bench/lib/plan.ts), and
// writes the table, the JSON, the plots and, with --write-docs,
// docs/benchmarks.md. Exit code 1 when any phase failed, 2 for bad usage.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { benchmarksPage, PLOT_FILES } from './lib/docs.js';
import { parseOptions, USAGE, type BenchOptions } from './lib/options.js';
import { runBench } from './lib/plan.js';
import { latencySpec, renderSvg, throughputSpec, tokensSpec } from './lib/plot.js';
import { tableRows, targetRows, textTable } from './lib/report.js';
import type { BenchResults } from './lib/results.js';

const DOCS_FILE = 'docs/benchmarks.md';
const NOTES_FILE = 'bench/benchmark-notes.md';

async function writeDocs(results: BenchResults, resultsDir: string): Promise<void> {
  const notes = existsSync(NOTES_FILE) ? await readFile(NOTES_FILE, 'utf8') : undefined;
  await mkdir(path.dirname(DOCS_FILE), { recursive: true });
  await writeFile(DOCS_FILE, benchmarksPage(results, path.resolve(resultsDir), path.resolve(DOCS_FILE), notes));
  process.stderr.write(`wrote ${DOCS_FILE}\n`);
}

async function writeResults(results: BenchResults, out: string): Promise<void> {
  await mkdir(out, { recursive: true });
  const subtitle = `${results.smoke ? 'SMOKE RUN, not a measurement · ' : ''}${results.machine.cores} cores, ${results.startedAt.slice(0, 10)}`;
  await writeFile(path.join(out, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  await writeFile(path.join(out, 'latest.txt'), `${textTable(tableRows(results))}\n\n${textTable(targetRows(results.targets))}\n`);
  await writeFile(path.join(out, PLOT_FILES.latency), await renderSvg(latencySpec(results.phases, subtitle)));
  await writeFile(path.join(out, PLOT_FILES.throughput), await renderSvg(throughputSpec(results.phases, subtitle)));
  await writeFile(path.join(out, PLOT_FILES.tokens), await renderSvg(tokensSpec(results.phases, subtitle)));
  process.stderr.write(`wrote ${out}/latest.json, latest.txt and the plots\n`);
}

function printSummary(results: BenchResults): void {
  const out = process.stdout;
  out.write(`\n${textTable(tableRows(results))}\n\n`);
  out.write(`Targets${results.smoke ? ' (smoke run: shown, not judged)' : ''}:\n${textTable(targetRows(results.targets))}\n\n`);
  out.write(
    'The load generator shares the machine with the server (and Postgres): every figure includes its CPU use, on both sides of each ratio.\n',
  );
  const m = results.machine;
  out.write(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os}, Node ${m.node}; ${m.postgres}; load average at start ${m.loadAverageAtStart.join(' ')}\n`);
  if (results.failures.length) out.write(`\nFAILED:\n${results.failures.map((f) => `  ${f}`).join('\n')}\n`);
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseOptions(argv, process.env);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (options.docsFrom) {
    const results = JSON.parse(await readFile(options.docsFrom, 'utf8')) as BenchResults;
    await writeDocs(results, path.dirname(options.docsFrom));
    return 0;
  }
  const results = await runBench(options, `npm run bench${argv.length ? ' -- ' + argv.join(' ') : ''}`);
  await writeResults(results, options.out);
  if (options.writeDocs) await writeDocs(results, options.out);
  printSummary(results);
  return results.failures.length ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
