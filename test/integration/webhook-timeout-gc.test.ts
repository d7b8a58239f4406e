// A webhook attempt to a host that accepts the connection and never answers
// must end as a timeout within its budget, even while garbage collection runs
// all the time: on Node 20 a timeout signal combined with AbortSignal.any can
// be collected before it fires (nodejs/node#57736), and the relay then waited
// until the receiver reset the socket, with no timeout counted.
//
// The relay runs in a child process (test/support/relay-timeout-gc.mjs, over
// the built dist/; run `npm run build` first) started with --expose-gc, so the
// collections are real and nothing of Vitest keeps the signals alive.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../support/relay-timeout-gc.mjs', import.meta.url));

describe('webhook attempt timeout under garbage collection', () => {
  // http: the real sender, with its own connect, header and socket timers.
  // signal-only: a sender that ends only when the attempt's signal aborts, so
  // this case fails if the relay's own deadline can be collected.
  it.each(['http', 'signal-only'])(
    'ends an attempt to a TCP tarpit as a timeout within its budget, and counts it as timeout (%s sender)',
    (mode) => {
      const timeoutMs = 500;
      const child = spawnSync(process.execPath, ['--expose-gc', SCRIPT, String(timeoutMs), mode], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      const result = JSON.parse(child.stdout.trim()) as {
        elapsedMs: number;
        recorded: { kind: string; error: string } | null;
        tarpitConnections: number;
        metric: Record<string, number>;
      };
      // The request did reach the tarpit: the wait was for an answer, not a connection.
      expect(result.tarpitConnections).toBe(1);
      expect(result.recorded).toMatchObject({ kind: 'retry', error: `timed out after ${timeoutMs} ms` });
      // The budget, plus the relay's first poll and a margin for a loaded machine.
      expect(result.elapsedMs).toBeGreaterThanOrEqual(timeoutMs);
      expect(result.elapsedMs).toBeLessThan(timeoutMs + 1_500);
      expect(result.metric).toEqual({ timeout: 1, network_error: 0, relay_stopped: 0 });
    },
  );
});
