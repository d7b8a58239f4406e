// `roomgate serve` as the bench runs it: the package's bin, in a process of
// its own, listening on 127.0.0.1:0. Its log (one JSON line per RPC at the
// default level) goes to a file, not a pipe, so that nothing in the bench has
// to read it while it measures; the port comes from the "roomgate serving"
// line in that file.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { servingPortIn as servingPort } from '../../src/cli/serving-line.js';

/** The compiled `roomgate` command (dist/bench/lib → bin/). */
const ROOMGATE_BIN = fileURLToPath(new URL('../../../bin/roomgate.js', import.meta.url));

/** A running `roomgate serve`. */
export interface RoomgateServer {
  pid: number;
  address: string;
  /** The last lines of its log, for an error message. */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after 15 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** How a bench server is configured: its database, and anything the user added. */
export interface ServerSettings {
  databaseUrl: string;
  /** base64 of 32 bytes; the bench's databases are new, so any key does. */
  keyEncryptionKey: string;
  logFile: string;
  extraEnv: Record<string, string>;
  /** Where the server writes a CPU profile when it stops; undefined: no profile. */
  profileDir?: string | undefined;
}

function environment(settings: ServerSettings): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    DATABASE_URL: settings.databaseUrl,
    ROOMGATE_KEY_ENCRYPTION_KEY: settings.keyEncryptionKey,
    ROOMGATE_GRPC_ADDRESS: '127.0.0.1:0',
    // On, as in production, on a port of its own so that runs never collide.
    ROOMGATE_METRICS_ADDRESS: '127.0.0.1:0',
    ROOMGATE_HTTP_ADDRESS: '127.0.0.1:0',
    ...settings.extraEnv,
  };
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}


function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

/** Starts `roomgate serve` (which migrates its database first) and waits until it serves. */
export async function startRoomgate(settings: ServerSettings, readyTimeoutMs = 90_000): Promise<RoomgateServer> {
  const fd = openSync(settings.logFile, 'a');
  const profile = settings.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(settings.profileDir)}`] : [];
  const child = spawn(process.execPath, [...profile, ROOMGATE_BIN, 'serve'], { env: environment(settings), stdio: ['ignore', fd, fd] });
  closeSync(fd);
  // Never leave a server behind, even when the bench dies of an error.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const port = servingPort(readFileSync(settings.logFile, 'utf8'));
    if (port !== undefined) {
      return {
        pid: child.pid!,
        address: `127.0.0.1:${port}`,
        logTail: (lines) => tail(settings.logFile, lines),
        stop: async () => {
          const code = await stop(child);
          process.off('exit', kill);
          return code;
        },
      };
    }
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      process.off('exit', kill);
      throw new Error(`roomgate serve did not start serving:\n${tail(settings.logFile)}`);
    }
    await sleep(100);
  }
}

/** A sandbox management token from `roomgate token create`, as an operator would make one. */
export function createManagementToken(settings: ServerSettings): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [ROOMGATE_BIN, 'token', 'create', '--environment', 'sandbox', '--name', 'bench'],
      { env: environment(settings) },
      (err, stdout, stderr) => {
        const token = stdout.trim();
        if (err || !/^rg_sandbox_\S+$/.test(token)) reject(new Error(`roomgate token create failed: ${err?.message ?? ''}\n${stderr}`));
        else resolve(token);
      },
    ),
  );
}
