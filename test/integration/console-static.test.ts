// The console's static files on the public HTTP listener of a real roomgate
// (startRoomgate on a database of this file's own), over real HTTP: the built
// console/dist (npm test's pretest builds it) with its security and cache
// headers, the /console redirect, 404s, and requests that try to step outside
// console/dist. A second listener serves a hand-made dist with a dot file, a
// symbolic link and an unservable name, and one with no build at all.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleDirectory, loadConsoleFiles } from '../../src/http/console-files.js';
import { CONSOLE_CSP } from '../../src/http/console-routes.js';
import { startHttpListener, type HttpListener } from '../../src/http/http-listener.js';
import { publicRouter } from '../../src/http/public-routes.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

const STRICT_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A GET with the path sent exactly as given (fetch would normalize dot segments). */
function rawGet(base: string, rawPath: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: rawPath, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function expectSecurityHeaders(headers: Headers | http.IncomingHttpHeaders): void {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : headers[name]);
  expect(get('content-security-policy')).toBe(STRICT_CSP);
  expect(get('x-content-type-options')).toBe('nosniff');
  expect(get('referrer-policy')).toBe('no-referrer');
  expect(get('x-frame-options')).toBe('DENY');
}

let t: TestRoomgate;
beforeAll(async () => {
  t = await startTestRoomgate();
});
afterAll(() => t?.close());

describe('the built console at /console/', () => {
  it('serves index.html as text/html with the strict CSP, no-cache and an ETag, and no inline script or style', async () => {
    const res = await fetch(`${t.httpUrl}/console/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expectSecurityHeaders(res.headers);
    expect(CONSOLE_CSP).toBe(STRICT_CSP);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    expect(html).toContain('<div id="root"></div>');
    // Every script is an external file of this origin: nothing a CSP without 'unsafe-inline' would block.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
    const again = await fetch(`${t.httpUrl}/console/`, { headers: { 'if-none-match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect((await fetch(`${t.httpUrl}/console/index.html`)).headers.get('etag')).toBe(res.headers.get('etag'));
  });

  it('serves the hashed assets index.html names with their content types, cacheable forever, gzipped when asked', async () => {
    const html = await (await fetch(`${t.httpUrl}/console/`)).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    const js = assets.find((a) => a.endsWith('.js'));
    const css = assets.find((a) => a.endsWith('.css'));
    expect(js).toBeDefined();
    expect(css).toBeDefined();
    for (const [asset, type] of [[js!, 'text/javascript; charset=utf-8'], [css!, 'text/css; charset=utf-8']] as const) {
      const plain = await rawGet(t.httpUrl, asset);
      expect(plain.status).toBe(200);
      expect(plain.headers['content-type']).toBe(type);
      expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(plain.headers['content-encoding']).toBeUndefined();
      expectSecurityHeaders(plain.headers);
      const zipped = await rawGet(t.httpUrl, asset, { 'accept-encoding': 'br, gzip' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers.vary).toBe('accept-encoding');
      expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
      expect((await rawGet(t.httpUrl, asset, { 'accept-encoding': 'gzip;q=0' })).headers['content-encoding']).toBeUndefined();
    }
  });

  it('redirects /console to /console/', async () => {
    const res = await fetch(`${t.httpUrl}/console`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/console/');
  });

  it('answers 404 for paths that are not a built file', async () => {
    for (const p of ['/console/nope', '/console/assets/', '/console/assets/nope.js', '/console/index.html/', '/console/src/main.tsx', '/console/vite.config.ts', '/console/package.json']) {
      expect((await rawGet(t.httpUrl, p)).status, p).toBe(404);
    }
  });

  it('reaches nothing outside console/dist by dot segments or encoded escapes (400 before any route), nor by a file name that exists next to it', async () => {
    const attempts = [
      '/console/../package.json',
      '/console/assets/../../package.json',
      '/console/%2e%2e/package.json',
      '/console/%2E%2E%2Fpackage.json',
      '/console/assets/..%2f..%2fpackage.json',
      '/console//etc/passwd',
      '/console/assets/%5c..%5cpackage.json',
    ];
    for (const p of attempts) {
      const res = await rawGet(t.httpUrl, p);
      expect(res.status, p).toBe(400);
      expect(res.body.toString()).not.toContain('"name"');
    }
    for (const p of ['/console/dist/index.html', '/console/console/dist/index.html', '/console/etc/passwd', '/console/..../package.json']) {
      expect((await rawGet(t.httpUrl, p)).status, p).toBe(404);
    }
  });

  it('is found next to the package: console/dist of this checkout', async () => {
    expect(consoleDirectory()).toBe(path.resolve(import.meta.dirname, '..', '..', 'console', 'dist'));
  });
});

describe('what a console directory may hold', () => {
  let dir: string;
  let outside: string;
  let listener: HttpListener;
  let url: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'roomgate-console-'));
    outside = await mkdtemp(path.join(os.tmpdir(), 'roomgate-outside-'));
    await writeFile(path.join(outside, 'secret.txt'), 'outside');
    await mkdir(path.join(dir, 'assets'));
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
    await writeFile(path.join(dir, 'assets', 'app-Ab12_x.js'), 'export {};');
    await writeFile(path.join(dir, '.env'), 'SECRET=1');
    await writeFile(path.join(dir, 'bad name.txt'), 'x');
    await writeFile(path.join(dir, 'notes.md'), 'no content type');
    await symlink(path.join(outside, 'secret.txt'), path.join(dir, 'linked.txt'));
    const files = await loadConsoleFiles(dir);
    const router = publicRouter({ tokens: { jwks: () => '{"keys":[]}' }, jwksMaxAgeSeconds: 60, ready: () => true, consoleFiles: files, onError: () => undefined });
    listener = await startHttpListener(router, '127.0.0.1:0', { limits: t.config.http });
    url = `http://127.0.0.1:${listener.port}`;
  });
  afterAll(async () => {
    await listener?.close(0);
    await rm(dir, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('serves regular files only: no dot files, symbolic links, unservable names or unknown types', async () => {
    expect((await rawGet(url, '/console/')).status).toBe(200);
    expect((await rawGet(url, '/console/assets/app-Ab12_x.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await rawGet(url, '/console/.env')).status).toBe(404);
    expect((await rawGet(url, '/console/linked.txt')).status).toBe(404);
    expect((await rawGet(url, '/console/bad%20name.txt')).status).toBe(404);
    expect((await rawGet(url, '/console/notes.md')).status).toBe(404);
  });

  it('without a build, /console/ is a 404 page that says how to build it', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'roomgate-unbuilt-'));
    try {
      expect(await loadConsoleFiles(path.join(empty, 'dist'))).toBeUndefined();
      expect(await loadConsoleFiles(empty)).toBeUndefined();
      const router = publicRouter({ tokens: { jwks: () => '{"keys":[]}' }, jwksMaxAgeSeconds: 60, ready: () => true, consoleFiles: undefined, onError: () => undefined });
      const unbuilt = await startHttpListener(router, '127.0.0.1:0', { limits: t.config.http });
      try {
        const res = await rawGet(`http://127.0.0.1:${unbuilt.port}`, '/console/');
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(res.body.toString()).toContain('npm run build');
        expectSecurityHeaders(res.headers);
      } finally {
        await unbuilt.close(0);
      }
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
