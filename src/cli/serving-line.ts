/** The message of the log line `roomgate serve` writes once its gRPC port is open. */
export const SERVING_MESSAGE = 'roomgate serving';

/** The ports in the "roomgate serving" line. */
export interface ServingPorts {
  /** The gRPC port. */
  port: number;
  /** The public HTTP listener's port, when it is on. */
  httpPort: number | undefined;
  /** The Prometheus endpoint's port, when it is on. */
  metricsPort: number | undefined;
}

/**
 * The ports in the "roomgate serving" line of a JSON log, once that line is
 * complete (ends with a newline) in `log`; for programs that start
 * `roomgate serve` and wait for it, such as the tests and the benchmarks.
 */
export function servingPortsIn(log: string): ServingPorts | undefined {
  for (const line of log.split('\n').slice(0, -1)) {
    if (!line.includes(`"${SERVING_MESSAGE}"`)) continue;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; port?: unknown; httpPort?: unknown; metricsPort?: unknown };
      if (entry.msg === SERVING_MESSAGE && typeof entry.port === 'number') {
        const optional = (v: unknown) => (typeof v === 'number' ? v : undefined);
        return { port: entry.port, httpPort: optional(entry.httpPort), metricsPort: optional(entry.metricsPort) };
      }
    } catch {
      // Not a log line, such as the bootstrap banner.
    }
  }
  return undefined;
}

/** The gRPC port in the "roomgate serving" line (see {@link servingPortsIn}). */
export function servingPortIn(log: string): number | undefined {
  return servingPortsIn(log)?.port;
}
