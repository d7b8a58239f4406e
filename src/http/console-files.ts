import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** One file of the built console, held in memory with what its answer needs. */
export interface ConsoleFile {
  body: Buffer;
  /** The body gzipped, for text files where that saves something. */
  gzip: Buffer | undefined;
  contentType: string;
  etag: string;
  /** Whether the name carries a content hash (Vite's assets/), so the file never changes. */
  immutable: boolean;
}

/** The join page's file in console/dist (built from console/join.html), served at /join/<code> only. */
export const JOIN_PAGE_FILE = 'join.html';

/** Files by their path below the console's root, e.g. `index.html`, `assets/index-B5x.js`. */
export type ConsoleFiles = Map<string, ConsoleFile>;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** What the router can match: the characters of a path it accepts, without dot segments (request-target.ts). */
const SERVABLE_NAME = /^[A-Za-z0-9\-_~][A-Za-z0-9\-._~]*$/;

/**
 * The built console, console/dist of the package: found from this file, which
 * is src/http in a checkout (tests run the sources) and dist/src/http once
 * compiled, as migrationsDirectory finds the SQL.
 */
export function consoleDirectory(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '..', '..', '..') : path.resolve(here, '..', '..');
  return path.join(root, 'console', 'dist');
}

/**
 * Reads every regular file below `dir` into memory, skipping dot files,
 * symbolic links and names the router could not match. Returns undefined when
 * there is no index.html (the console was not built).
 */
export async function loadConsoleFiles(dir: string): Promise<ConsoleFiles | undefined> {
  const files: ConsoleFiles = new Map();
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const parts = path.relative(dir, full).split(path.sep);
    const contentType = CONTENT_TYPES[path.extname(entry.name).toLowerCase()];
    if (!contentType || !parts.every((p) => SERVABLE_NAME.test(p))) continue;
    const body = await readFile(full);
    const zipped = contentType.startsWith('text/') || contentType.includes('json') || contentType.includes('svg') ? gzipSync(body, { level: 9 }) : undefined;
    files.set(parts.join('/'), {
      body,
      gzip: zipped && zipped.length < body.length ? zipped : undefined,
      contentType,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      immutable: parts[0] === 'assets',
    });
  }
  return files.has('index.html') ? files : undefined;
}
