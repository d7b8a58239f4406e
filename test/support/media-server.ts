// The reference media-server adapter (examples/media-server) as a real child
// process, and peers that join it with the `ws` client library, for
// test/integration/media-server*.test.ts. The adapter is built with its own
// `npm run build` (which builds @roomgate/client first), as a user of the
// example would, when its sources changed, and runs from its dist/ with only the
// environment given here. Like server-process.ts's roomgate, it watches a
// pipe from the test worker and stops itself if the worker dies.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { baseEnv, stopRoomgate } from './server-process.js';

const EXAMPLE_DIR = fileURLToPath(new URL('../../examples/media-server', import.meta.url));
const MAIN = `${EXAMPLE_DIR}/dist/main.js`;
const ORPHAN_GUARD =
  'data:text/javascript,' +
  encodeURIComponent(
    `const orphaned = () => { process.kill(process.pid, 'SIGTERM'); setTimeout(() => process.exit(1), 5000).unref(); };
     process.stdin.once('end', orphaned).once('error', orphaned).resume().unref();`,
  );

const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** What the adapter's build reads: its sources, and the client package's. */
const BUILD_INPUTS = ['examples/media-server/src', 'examples/media-server/package.json', 'examples/media-server/tsconfig.json', 'src/client', 'src/gen', 'packages/client'];
const BUILD_OUTPUTS = ['examples/media-server/dist/main.js', 'packages/client/dist/cjs/package.json'];
const BUILD_LOCK = path.join(os.tmpdir(), `roomgate-media-server-build-${createHash('sha256').update(REPO).digest('hex').slice(0, 12)}`);

function newestMtime(file: string): number {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(file)) {
    if (entry === 'dist' || entry === 'node_modules') continue;
    newest = Math.max(newest, newestMtime(path.join(file, entry)));
  }
  return newest;
}

function upToDate(): boolean {
  const outputs = BUILD_OUTPUTS.map((f) => path.join(REPO, f));
  if (!outputs.every((f) => existsSync(f))) return false;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  return BUILD_INPUTS.every((f) => newestMtime(path.join(REPO, f)) < built);
}

/**
 * Runs the example's `npm run build` (its tsc, after @roomgate/client's
 * build) unless its output is newer than every input. Test files run in
 * parallel workers, and the client's build starts by deleting its dist/, so
 * the check and the build hold a lock directory: a second file waits, then
 * finds the build done instead of deleting it under the first file's adapter.
 */
export async function buildMediaServer(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      break;
    } catch {
      // A lock left by a killed run is stale after a few minutes.
      const lock = statSync(BUILD_LOCK, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > 300_000) rmSync(BUILD_LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (upToDate()) return;
    await promisify(execFile)('npm', ['run', 'build'], { cwd: EXAMPLE_DIR, env: { ...baseEnv, npm_config_update_notifier: 'false' } });
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

/** A running adapter. */
export interface MediaServer {
  child: ChildProcess;
  port: number;
  /** ws://127.0.0.1:<port>/rooms/<roomId> */
  url(roomId: string): string;
  /** Its JSON log lines so far, parsed. */
  logs(): Array<Record<string, unknown>>;
  /** Its raw stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** Starts `node examples/media-server/dist/main.js` with `env`; resolves once it logs "listening". */
export function startMediaServer(env: Record<string, string>): Promise<MediaServer> {
  const child = spawn(process.execPath, ['--import', ORPHAN_GUARD, MAIN], {
    env: { ...baseEnv, MEDIA_SERVER_ADDRESS: '127.0.0.1:0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const logs = () =>
    out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail('was not listening after 30 s'), 30_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`media server ${why}\n--- stderr ---\n${err}\n--- stdout ---\n${out}`));
    };
    child.once('exit', (code, signal) => fail(`exited with ${code ?? signal}`));
    child.stdout!.on('data', function onData() {
      const listening = logs().find((l) => l.msg === 'listening');
      if (!listening) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.removeAllListeners('exit');
      const port = listening.port as number;
      resolve({
        child,
        port,
        url: (roomId) => `ws://127.0.0.1:${port}/rooms/${roomId}`,
        logs,
        output: () => `${err}\n${out}`,
        stop: (timeoutMs) => stopRoomgate(child, timeoutMs),
      });
    });
  });
}

/** How a socket ended, and when (performance.now()). */
export interface Closed {
  code: number;
  reason: string;
  at: number;
}

/** A peer's socket to the adapter. */
export interface Peer {
  ws: WebSocket;
  /** The adapter's `joined` message; rejects if the socket closes first. */
  joined: Promise<Record<string, unknown>>;
  closed: Promise<Closed>;
}

/** Opens a socket to `url` offering roomgate.v1 and, when given, the token. */
export function connectPeer(url: string, token: string | undefined): Peer {
  const protocols = token === undefined ? ['roomgate.v1'] : ['roomgate.v1', `roomgate.token.${token}`];
  const ws = new WebSocket(url, protocols);
  const closed = new Promise<Closed>((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: performance.now() }));
  });
  const joined = new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.once('message', (data) => resolve(JSON.parse(data.toString()) as Record<string, unknown>));
    void closed.then((c) => reject(new Error(`closed before joining: ${c.code} ${c.reason}`)));
  });
  joined.catch(() => {});
  ws.on('error', () => {});
  return { ws, joined, closed };
}
