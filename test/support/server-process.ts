// `roomgate serve` as separate processes, for tests that need what only a
// real process shows: several instances on one database, signals, exit codes.
// The compiled bin runs (`npm test` builds dist/ first), with only the
// environment the caller gives it on top of PATH and HOME. Isolation comes
// from the DATABASE_URL the caller passes, normally a database of the test
// file's own from createTestDatabase() (see database.ts).
//
// A process is ready once it logs "roomgate serving", and is stopped with
// SIGTERM, then SIGKILL if it has not exited in time. A failed or timed-out
// test still reaches afterAll, which stops it; for when the test worker itself
// dies (Ctrl-C, a killed run), each process watches a pipe from its parent and
// stops itself when the pipe closes, so none is left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { servingPortsIn } from '../../src/cli/serving-line.js';

/** The `roomgate` command: the package's bin, which runs the compiled dist/. */
export const ROOMGATE_BIN = fileURLToPath(new URL('../../bin/roomgate.js', import.meta.url));

/** What a child process inherits: enough to find node and a home, nothing else. */
export const baseEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };

/** A running `roomgate serve`. */
export interface RoomgateProcess {
  child: ChildProcess;
  /** The port it serves gRPC on, as it logged it. */
  port: number;
  /** `127.0.0.1:<port>`, for createRoomgateClient. */
  address: string;
  /** The public HTTP listener's port, as it logged it; undefined when ROOMGATE_HTTP_ADDRESS=off. */
  httpPort: number | undefined;
  /** `http://127.0.0.1:<httpPort>` (https:// when the env sets ROOMGATE_TLS_CERT_FILE); undefined when the listener is off. */
  httpUrl: string | undefined;
  /** Everything it wrote to stdout so far: pino JSON lines only (the bootstrap token goes to a file). */
  stdout(): string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Stops it as {@link stopRoomgate} does; resolves with its exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** Options of {@link serveRoomgate}. */
export interface ServeOptions {
  /** How long to wait for the "roomgate serving" line before killing it; 30 s by default. */
  readyTimeoutMs?: number;
}

/**
 * Preloaded into each process: when its stdin pipe closes, which the kernel
 * does when the test worker dies however it dies, it shuts down as on SIGTERM,
 * and exits anyway 5 s later. The pipe is unref'd, so it never keeps a
 * process alive.
 */
const ORPHAN_GUARD =
  'data:text/javascript,' +
  encodeURIComponent(
    `const orphaned = () => { process.kill(process.pid, 'SIGTERM'); setTimeout(() => process.exit(1), 5000).unref(); };
     process.stdin.once('end', orphaned).once('error', orphaned).resume().unref();`,
  );

/** A port that was free a moment ago, for a server that must come back on the same port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}


/**
 * Starts `roomgate serve` with `env` and resolves once it logs that it is
 * serving. Without ROOMGATE_GRPC_ADDRESS it listens on 127.0.0.1:0, and the
 * port is read from its log (so is the HTTP listener's, on 127.0.0.1:0 unless
 * ROOMGATE_HTTP_ADDRESS says otherwise), so no other process can take the port between
 * choosing and binding it. Rejects, with the process's output, when it exits
 * or is not ready in time; nothing is left running then.
 */
export function serveRoomgate(env: Record<string, string>, options: ServeOptions = {}): Promise<RoomgateProcess> {
  const child = spawn(process.execPath, ['--import', ORPHAN_GUARD, ROOMGATE_BIN, 'serve'], {
    env: {
      ...baseEnv,
      ROOMGATE_GRPC_ADDRESS: '127.0.0.1:0',
      ROOMGATE_METRICS_ADDRESS: '127.0.0.1:0',
      ROOMGATE_HTTP_ADDRESS: '127.0.0.1:0',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`roomgate serve ${reason}\n--- stderr ---\n${err}\n--- stdout ---\n${out}`));
    };
    const onData = () => {
      const ports = servingPortsIn(out);
      if (ports === undefined) return;
      const { port, httpPort } = ports;
      cleanup();
      const scheme = env.ROOMGATE_TLS_CERT_FILE ? 'https' : 'http';
      resolve({
        child,
        port,
        address: `127.0.0.1:${port}`,
        httpPort,
        httpUrl: httpPort === undefined ? undefined : `${scheme}://127.0.0.1:${httpPort}`,
        stdout: () => out,
        stderr: () => err,
        stop: (timeoutMs) => stopRoomgate(child, timeoutMs),
      });
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`exited with ${code ?? signal} before serving`);
    const onError = (e: Error) => fail(`could not start: ${e.message}`);
    const timer = setTimeout(() => fail(`was not serving after ${options.readyTimeoutMs ?? 30_000} ms`), options.readyTimeoutMs ?? 30_000);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/**
 * Sends SIGTERM and resolves with the exit code. A process that has not
 * exited after `timeoutMs` is killed with SIGKILL, and the result is null, so
 * an assertion on a clean exit fails. A process that already exited gives its
 * code at once.
 */
export function stopRoomgate(child: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}
