#!/usr/bin/env node
// The console's bundle budgets, in gzipped bytes of JavaScript (what a
// browser downloads on a first visit): all of console/dist within 250 KB,
// and the join page (dist/join.html: its scripts and everything they import)
// within 60 KB, since a person following a join link should not download the
// console. Prints the figures; exits 1 over a budget or without a build.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = 250 * 1024;
const JOIN_BUDGET_BYTES = 60 * 1024;
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
const kb = (n) => (n / 1024).toFixed(1);
const sizes = (file) => {
  const body = readFileSync(file);
  return { raw: body.length, gzipped: gzipSync(body, { level: 9 }).length };
};
let raw = 0;
let gzipped = 0;
for (const f of files) {
  const s = sizes(path.join(f.parentPath, f.name));
  raw += s.raw;
  gzipped += s.gzipped;
}
console.log(`console JavaScript: ${files.length} file(s), ${kb(raw)} KB, ${kb(gzipped)} KB gzipped (budget ${kb(BUDGET_BYTES)} KB)`);
let over = gzipped > BUDGET_BYTES;

/** The join page's JavaScript: the scripts join.html names (entry and modulepreloads) and, transitively, what they import. */
function joinScripts() {
  const html = path.join(dist, 'join.html');
  if (!existsSync(html)) return undefined;
  const seen = new Set();
  const queue = [...readFileSync(html, 'utf8').matchAll(/(?:src|href)="\/console\/(assets\/[^"]+\.js)"/g)].map((m) => path.join(dist, m[1]));
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*"(\.\/[^"]+\.js)"/g)) queue.push(path.join(path.dirname(file), m[1]));
  }
  return [...seen];
}
const join = joinScripts();
if (!join) {
  console.error('console/dist/join.html is missing: run npm run build first');
  over = true;
} else {
  const total = join.map(sizes).reduce((a, s) => ({ raw: a.raw + s.raw, gzipped: a.gzipped + s.gzipped }), { raw: 0, gzipped: 0 });
  console.log(`join page JavaScript: ${join.length} file(s), ${kb(total.raw)} KB, ${kb(total.gzipped)} KB gzipped (budget ${kb(JOIN_BUDGET_BYTES)} KB)`);
  over ||= total.gzipped > JOIN_BUDGET_BYTES;
}
if (over) {
  console.error('over the bundle budget');
  process.exit(1);
}
