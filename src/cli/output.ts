import { pino, type Logger } from 'pino';
import type { Config } from '../config.js';

/** A mistake in the command line; reported with exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Logs of one-shot commands go to stderr, so stdout carries only the command's answer. */
export function cliLogger(config: Config): Logger {
  return pino({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, base: { service: 'roomgate' } }, pino.destination(2));
}

/** Prints rows under a header, in aligned columns, on stdout. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
}
