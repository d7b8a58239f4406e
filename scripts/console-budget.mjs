#!/usr/bin/env node
// The console's bundle budget: the gzipped size of all JavaScript in
// console/dist must stay within 250 KB (what a browser downloads on a first
// visit). Prints the figure; exits 1 over budget or without a build.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = 250 * 1024;
const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'console', 'dist');

let files;
try {
  files = readdirSync(dist, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.js'));
} catch {
  console.error('console/dist is missing: run npm run build first');
  process.exit(1);
}
if (files.length === 0) {
  console.error('console/dist has no JavaScript: run npm run build first');
  process.exit(1);
}
let raw = 0;
let gzipped = 0;
for (const f of files) {
  const body = readFileSync(path.join(f.parentPath, f.name));
  raw += body.length;
  gzipped += gzipSync(body, { level: 9 }).length;
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`console JavaScript: ${files.length} file(s), ${kb(raw)} KB, ${kb(gzipped)} KB gzipped (budget ${kb(BUDGET_BYTES)} KB)`);
if (gzipped > BUDGET_BYTES) {
  console.error('over the bundle budget');
  process.exit(1);
}
