#!/usr/bin/env node
// Builds the console (console/dist) with Vite, unless console/dist is newer
// than every file it is made from, so that `npm start` and `npm test` (whose
// pre-scripts run `npm run build`) stay fast. --force builds anyway.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const consoleDir = path.join(root, 'console');
const distDir = path.join(consoleDir, 'dist');
// What the bundle is made of: the app, its config, and the installed versions of its dependencies.
const inputs = [
  path.join(consoleDir, 'src'),
  path.join(consoleDir, 'index.html'),
  path.join(consoleDir, 'join.html'),
  path.join(consoleDir, 'vite.config.ts'),
  path.join(consoleDir, 'tsconfig.json'),
  path.join(consoleDir, 'package.json'),
  path.join(root, 'package-lock.json'),
];

/** Modification times of `p`, or of every file below it. */
function mtimes(p) {
  let stat;
  try {
    stat = statSync(p);
  } catch {
    return [];
  }
  if (!stat.isDirectory()) return [stat.mtimeMs];
  return readdirSync(p, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => statSync(path.join(e.parentPath, e.name)).mtimeMs);
}

const built = mtimes(distDir);
const newestInput = Math.max(...inputs.flatMap(mtimes));
const hasIndex = mtimes(path.join(distDir, 'index.html')).length > 0 && mtimes(path.join(distDir, 'join.html')).length > 0;
if (!process.argv.includes('--force') && hasIndex && Math.min(...built) > newestInput) {
  console.log('console/dist is up to date');
  process.exit(0);
}
const vite = path.join(path.dirname(createRequire(path.join(consoleDir, 'package.json')).resolve('vite/package.json')), 'bin', 'vite.js');
const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: consoleDir, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('console build failed');
  process.exit(result.status ?? 1);
}
console.log('console built into console/dist');
