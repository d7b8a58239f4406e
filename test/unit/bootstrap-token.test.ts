// The first start's admin token stays out of the log stream (issue 12,
// section 3): it goes to a 0600 file in the data directory, and to stderr only
// when stderr is a terminal. Each test works in its own temporary directory.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BOOTSTRAP_TOKEN_FILE, deliverBootstrapToken, type BannerStream } from '../../src/cli/bootstrap-token.js';

const TOKEN = 'rg_sandbox_0123456789abcdefghijABCDEFGHIJ0123456789abcdefgh';

function stream(isTTY: boolean): BannerStream & { text: string } {
  const s = { isTTY, text: '', write: (t: string) => (s.text += t) };
  return s;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomgate-bootstrap-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('deliverBootstrapToken', () => {
  it('writes the token to <dataDir>/bootstrap-token with mode 0600, and nothing to a stderr that is not a terminal', async () => {
    const stderr = stream(false);
    const file = await deliverBootstrapToken(TOKEN, dir, stderr);
    expect(file).toBe(path.join(dir, BOOTSTRAP_TOKEN_FILE));
    expect(await readFile(file, 'utf8')).toBe(`${TOKEN}\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(stderr.text).toBe('');
  });

  it('shows the banner with the token on a terminal, naming the file', async () => {
    const stderr = stream(true);
    const file = await deliverBootstrapToken(TOKEN, dir, stderr);
    expect(stderr.text).toContain(`\n ${TOKEN}\n`);
    expect(stderr.text).toContain(`A copy is in ${file} (mode 0600)`);
  });

  it('replaces a world-readable leftover with a 0600 file', async () => {
    await writeFile(path.join(dir, BOOTSTRAP_TOKEN_FILE), 'old\n', { mode: 0o644 });
    const file = await deliverBootstrapToken(TOKEN, dir, stream(false));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe(`${TOKEN}\n`);
  });

  it('still shows the token on a terminal when the file cannot be written, and rejects', async () => {
    const stderr = stream(true);
    await expect(deliverBootstrapToken(TOKEN, path.join(dir, 'missing', 'dir'), stderr)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(stderr.text).toContain(`\n ${TOKEN}\n`);
    expect(stderr.text).toContain('could not be written');
  });
});
