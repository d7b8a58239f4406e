import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/** The file, in the data directory, that receives the token made on an embedded install's first start. */
export const BOOTSTRAP_TOKEN_FILE = 'bootstrap-token';

/** Where the banner may go: process.stderr, or a fake in tests. */
export interface BannerStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

function banner(token: string, copy: string): string {
  const line = '='.repeat(78);
  return [
    line,
    ' roomgate created a sandbox management token (scope: admin) on this first start.',
    ' It is stored only as a hash. Keep it secret; use it as',
    '   authorization: Bearer <token>',
    '',
    ` ${token}`,
    '',
    ` ${copy}`,
    line,
    '',
  ].join('\n');
}

/**
 * Hands the first start's admin token to the operator without putting it in
 * the log stream: stdout carries JSON log lines that a log shipper collects,
 * and before this the token was printed there. It is written to
 * `<dataDir>/bootstrap-token`, readable by its owner only, and shown on stderr
 * only when stderr is a terminal, where a person and no collector reads it.
 * Returns the file's path, which is safe to log; rejects, after showing the
 * banner on a terminal, if the file could not be written.
 */
export async function deliverBootstrapToken(token: string, dataDir: string, stderr: BannerStream): Promise<string> {
  const file = path.join(path.resolve(dataDir), BOOTSTRAP_TOKEN_FILE);
  try {
    await writePrivateFile(file, `${token}\n`);
  } catch (err) {
    if (stderr.isTTY) stderr.write(banner(token, `It could not be written to ${file}: shown here only.`));
    throw err;
  }
  if (stderr.isTTY) stderr.write(banner(token, `A copy is in ${file} (mode 0600); delete it once you have stored the token.`));
  return file;
}

/**
 * Writes `text` to `file` with mode 0600, durably: a new file (so the mode is
 * the one given, whatever was there before) is synced and renamed over, and
 * the directory is synced, since the token exists nowhere else in clear.
 */
async function writePrivateFile(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await rename(temporary, file);
  const directory = await open(path.dirname(file), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
