import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Reads a base64 secret from `file`, or creates it with `bytes` random bytes
 * (mode 0600) if it does not exist. `wx` makes creation atomic, so two
 * processes starting together end up with the same secret.
 */
export async function readOrCreateSecretFile(file: string, bytes: number): Promise<Buffer> {
  await mkdir(path.dirname(file), { recursive: true });
  try {
    await writeFile(file, randomBytes(bytes).toString('base64') + '\n', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const secret = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  if (secret.length !== bytes) throw new Error(`${file} does not hold ${bytes} bytes of base64; restore it from backup`);
  return secret;
}
