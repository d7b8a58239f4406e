// examples/python/verify_offline.py as a long-running process: tokens go in on
// stdin, one verdict line per token comes back, so its PyJWKClient keeps its
// key cache across tokens as a media server's would. Debian's python3-jwt
// (2.6) and python3-cryptography are needed; without them `missingPyJwt()`
// says so and the callers skip, or fail under ROOMGATE_REQUIRE_PYTHON_EXAMPLE=1.
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { baseEnv } from './server-process.js';

/** The interpreter that has Debian's packages. */
export const PYTHON = process.env.PYTHON || '/usr/bin/python3';
/** The offline verifier of examples/python. */
export const VERIFY_OFFLINE = fileURLToPath(new URL('../../examples/python/verify_offline.py', import.meta.url));
/** Whether a missing prerequisite fails the tests instead of skipping them (.ci/run sets it). */
export const PYTHON_REQUIRED = process.env.ROOMGATE_REQUIRE_PYTHON_EXAMPLE === '1';

/** What is missing to run verify_offline.py, or undefined when nothing is. */
export async function missingPyJwt(): Promise<string | undefined> {
  return promisify(execFile)(PYTHON, ['-c', 'import jwt, cryptography; jwt.PyJWKClient'])
    .then(() => undefined)
    .catch(() => `${PYTHON} cannot import jwt with its crypto backend (Debian's python3-jwt and python3-cryptography)`);
}

/** A running verify_offline.py. */
export interface PythonVerifier {
  /** Its verdict line for `token`: "valid peer … room … kid …" or "invalid …". */
  verify(token: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts verify_offline.py against `jwksUrl`, with `env` on top of PATH and HOME. */
export function startPythonVerifier(jwksUrl: string, env: Record<string, string> = {}): PythonVerifier {
  const child = spawn(PYTHON, [VERIFY_OFFLINE], {
    env: { ...baseEnv, ROOMGATE_JWKS_URL: jwksUrl, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(line));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    verify: (token) =>
      new Promise((resolve, reject) => {
        if (child.exitCode !== null) return reject(new Error(`verify_offline.py exited ${child.exitCode}: ${stderr}`));
        const timer = setTimeout(() => reject(new Error(`no verdict from verify_offline.py in 10 s; stderr: ${stderr}`)), 10_000);
        waiting.push((line) => {
          clearTimeout(timer);
          resolve(line);
        });
        child.stdin.write(`${token}\n`);
      }),
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
