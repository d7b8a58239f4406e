import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long to wait for a cluster, or an initdb, that another process is running. */
const WAIT_FOR_OTHER_PROCESS_MS = 60_000;

/** The postmaster of a running cluster, as `postmaster.pid` describes it. */
export interface Postmaster {
  pid: number;
  port: number;
  /** "starting", "ready", "standby" or "stopping". */
  status: string;
}

/**
 * Reads `<clusterDir>/postmaster.pid` and returns the live postmaster once it
 * is ready; undefined when there is none. A cluster that is starting is waited
 * for, and one that is stopping is waited out. A stale file (its PID is gone)
 * is left to Postgres, which replaces it on start.
 */
export async function waitForPostmaster(clusterDir: string): Promise<Postmaster | undefined> {
  const deadline = Date.now() + WAIT_FOR_OTHER_PROCESS_MS;
  for (;;) {
    const postmaster = await readPostmasterPid(clusterDir);
    if (!postmaster || !isAlive(postmaster.pid, 'postgres')) return undefined;
    if (postmaster.status === 'ready' && postmaster.port > 0) return postmaster;
    if (Date.now() > deadline) {
      throw new Error(`Postgres (PID ${postmaster.pid}) on ${clusterDir} has stayed "${postmaster.status}" too long`);
    }
    await sleep(100);
  }
}

async function readPostmasterPid(clusterDir: string): Promise<Postmaster | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // Line 1 is the PID, line 4 the port and line 8 the status (padded, "ready   ").
  const lines = text.split('\n');
  return { pid: Number(lines[0]), port: Number(lines[3]), status: (lines[7] ?? '').trim() };
}

/**
 * Runs `fn` while holding `<dataDir>/pg-init.lock`, so that two processes
 * starting on a fresh data dir at once (a server and the CLI, say) do not both
 * run initdb. A lock left by a dead process is taken over.
 */
export async function withInitLock<T>(dataDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(dataDir, 'pg-init.lock');
  const deadline = Date.now() + WAIT_FOR_OTHER_PROCESS_MS;
  for (;;) {
    try {
      await fs.writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(await fs.readFile(lock, 'utf8').catch(() => ''));
    if (holder > 0 && !isAlive(holder)) {
      await fs.rm(lock, { force: true });
    } else if (Date.now() > deadline) {
      throw new Error(`${lock} is held by PID ${holder}; remove it if that process is gone`);
    } else {
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

/**
 * The cluster's superuser password from `<dataDir>/pg-password`, generated
 * (mode 0600) before the first initdb.
 */
export async function readOrCreatePassword(dataDir: string, initialised: boolean): Promise<string> {
  const file = path.join(dataDir, 'pg-password');
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (initialised) {
      throw new Error(`${file} is missing, so the password of the cluster in ${path.join(dataDir, 'pg')} is unknown`);
    }
  }
  const password = randomBytes(24).toString('base64url');
  await fs.writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  return password;
}

function isAlive(pid: number, expectedName?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (expectedName === undefined) return true;
  // After a crash and a reboot or container restart, the PID may belong to an
  // unrelated process; where /proc exists, make sure it is what we expect.
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === expectedName;
  } catch {
    return true;
  }
}
