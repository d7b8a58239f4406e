// `npm start` as a user runs it: the PID they hold is npm's, and stopping it
// must stop the server, not leave `roomgate serve` orphaned and listening.
// npm (@npmcli/run-script) forwards SIGTERM and SIGINT to the script's
// process, which `exec` makes the server itself. Each start runs in a process
// group of its own, so the test can tell whether anything was left behind and
// can send SIGINT to the whole group as a terminal's Ctrl-C does.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { baseEnv } from '../support/server-process.js';
import { waitUntil } from '../support/wait-until.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const GRACE_SECONDS = 5;
/** One key for the file: both starts share its database, whose signing keys it encrypts. */
const KEY_ENCRYPTION_KEY = randomBytes(32).toString('base64');

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (groupAlive(child.pid!)) process.kill(-child.pid!, 'SIGKILL');
});

/** Whether any process is left in the process group `pgid`. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves with the error code of a TCP connect to 127.0.0.1:port, or 'connected'. */
function connect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

interface Started {
  npm: ChildProcess;
  port: number;
  /** What it wrote to stdout: npm's banner and the server's pino lines. */
  stdout(): string;
  /** stdout and stderr, for failure messages. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function npmStart(): Promise<Started> {
  const npm = spawn('npm', ['start'], {
    cwd: REPO,
    env: {
      ...baseEnv,
      npm_config_update_notifier: 'false',
      DATABASE_URL: db.connectionString,
      ROOMGATE_KEY_ENCRYPTION_KEY: KEY_ENCRYPTION_KEY,
      ROOMGATE_GRPC_ADDRESS: '127.0.0.1:0',
      ROOMGATE_METRICS_ADDRESS: '127.0.0.1:0',
      ROOMGATE_HTTP_ADDRESS: '127.0.0.1:0',
      ROOMGATE_SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.push(npm);
  let out = '';
  let err = '';
  npm.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  npm.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let port: number | undefined;
  // prestart compiles first when dist/ is stale.
  await waitUntil(() => {
    port = logLines(out).find((l) => l.msg === 'roomgate serving')?.port as number | undefined;
    if (port === undefined && npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode}`);
    return port !== undefined;
  }, 90_000).catch((e: Error) => {
    throw new Error(`${e.message}; npm start printed:\n${out}\n--- stderr ---\n${err}`);
  });
  return { npm, port: port!, stdout: () => out, output: () => `${out}\n--- stderr ---\n${err}`, exited };
}

/** The complete pino JSON lines in `out`, skipping npm's banner and any line still being written. */
function logLines(out: string): Record<string, unknown>[] {
  return out
    .split('\n')
    .slice(0, -1)
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('npm start', () => {
  it.each([
    ['SIGTERM to the npm PID', (s: Started) => process.kill(s.npm.pid!, 'SIGTERM')],
    // A terminal's Ctrl-C goes to every process in the foreground group, and
    // npm forwards it too: the server gets SIGINT twice and must still drain
    // gracefully rather than take the repeat for "stop now".
    ['SIGINT to the whole process group (Ctrl-C)', (s: Started) => process.kill(-s.npm.pid!, 'SIGINT')],
  ])('%s stops the server: port closed, "roomgate stopped" logged, no process left', async (_, signal) => {
    const s = await npmStart();
    expect(await connect(s.port)).toBe('connected');
    const t0 = performance.now();
    signal(s);
    const { code } = await s.exited;
    await waitUntil(async () => (await connect(s.port)) === 'ECONNREFUSED' && !groupAlive(s.npm.pid!), GRACE_SECONDS * 1000);
    expect(performance.now() - t0).toBeLessThan(GRACE_SECONDS * 1000);
    expect(code).toBe(0);
    const lines = logLines(s.stdout());
    const stopped = lines.find((l) => l.msg === 'roomgate stopped');
    expect(stopped, s.output()).toBeDefined();
    expect(stopped!.drainMs).toEqual(expect.any(Number));
    expect(stopped!.drainMs as number).toBeLessThanOrEqual(GRACE_SECONDS * 1000);
    // "shutting down" once: the second SIGINT of a Ctrl-C was taken as its echo.
    expect(lines.filter((l) => l.msg === 'shutting down')).toHaveLength(1);
    expect(lines.indexOf(stopped!)).toBeGreaterThan(lines.findIndex((l) => l.msg === 'shutting down'));
  }, 120_000);
});
