/** The message of the log line `roomgate serve` writes once its gRPC port is open. */
export const SERVING_MESSAGE = 'roomgate serving';

/**
 * The gRPC port in the "roomgate serving" line of a JSON log, once that line
 * is complete (ends with a newline) in `log`; for programs that start
 * `roomgate serve` and wait for it, such as the tests and the benchmarks.
 */
export function servingPortIn(log: string): number | undefined {
  for (const line of log.split('\n').slice(0, -1)) {
    if (!line.includes(`"${SERVING_MESSAGE}"`)) continue;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; port?: unknown };
      if (entry.msg === SERVING_MESSAGE && typeof entry.port === 'number') return entry.port;
    } catch {
      // Not a log line, such as the bootstrap banner.
    }
  }
  return undefined;
}
