// GET /join/<code> on the public HTTP listener of a real roomgate (a database
// of this file's own), over real HTTP: the built join page (npm test's
// pretest builds console/dist) with its headers, 404 without the page for
// paths that cannot hold a code, the query ignored, the listener's rate limit,
// and no code in roomgate's log. Further listeners serve the same router with
// a tight rate limit, and with no build.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleDirectory, loadConsoleFiles } from '../../src/http/console-files.js';
import { startHttpListener } from '../../src/http/http-listener.js';
import { publicRouter } from '../../src/http/public-routes.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

const STRICT_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const CODE = 'Jp7xQk2mVb9sLw4nRt6yZc8dHf3gKa5e';

/** A request with the path sent exactly as given (fetch would normalize it). */
function raw(base: string, rawPath: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: rawPath, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

let t: TestRoomgate;
let built: string;
beforeAll(async () => {
  t = await startTestRoomgate();
  built = await readFile(path.join(consoleDirectory(), 'join.html'), 'utf8').catch(() => {
    throw new Error('console/dist/join.html is missing: build the console first with `npm run build` (npm test runs it as pretest)');
  });
});
afterAll(() => t?.close());

describe('GET /join/<code>', () => {
  it('serves the join page with strict, no-referrer, no-store, noindex and no-framing headers', async () => {
    const res = await raw(t.httpUrl, `/join/${CODE}`);
    expect(res.status).toBe(200);
    expect(res.body).toBe(built);
    expect(res.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': STRICT_CSP,
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      'x-robots-tag': 'noindex, nofollow',
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
    });
    expect(res.headers.etag).toBeUndefined();
    expect(res.headers['set-cookie']).toBeUndefined();
    // The page is the same for every code: nothing of the path is echoed into it.
    expect(res.body).not.toContain(CODE);
    expect(res.body).toContain('<label for="display-name">Your name</label>');
    // No inline script: every script has a src, and the CSP would block one anyway.
    const scripts = [...res.body.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) expect(s).toMatch(/ src="\/console\/assets\/join-[\w-]+\.js"/);
    expect(res.body).not.toMatch(/<script\b[^>]*>[^<]+<\/script>/);
    expect(res.body).not.toMatch(/\son[a-z]+=/i);
    const head = await raw(t.httpUrl, `/join/${CODE}`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['referrer-policy']).toBe('no-referrer');
  });

  it('serves every asset the page names, and none of them is the console app', async () => {
    const assets = [...built.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    for (const asset of assets) {
      const res = await fetch(`${t.httpUrl}${asset}`);
      expect(res.status, asset).toBe(200);
      expect(await res.text(), asset).not.toMatch(/react-dom|__REACT_DEVTOOLS/);
    }
    expect((await raw(t.httpUrl, '/console/join.html')).status).toBe(404);
  });

  it('short codes, with and without dashes, in any case, get the page', async () => {
    for (const code of ['abc-defg-hij', 'ABCDEFGHIJ', 'abc_DEF-123']) expect((await raw(t.httpUrl, `/join/${code}`)).status).toBe(200);
  });

  it('answers 404 without the page for a path that cannot hold a code', async () => {
    const bad = [
      '/join',
      '/join/',
      '/join/abc',
      `/join/${'a'.repeat(129)}`,
      `/join/${CODE}/`,
      `/join/${CODE}/x`,
      '/join/abc.defghij',
      '/join/abcdef%41gh',
      "/join/abcdef'ghij",
      '/join/abcdef~ghij',
      '/join/abcdef:ghij',
      '/join/abcd%C3%A9fghij',
      '/JOIN/abc-defg-hij',
    ];
    for (const p of bad) {
      const res = await raw(t.httpUrl, p);
      expect([400, 404], p).toContain(res.status);
      expect(res.body, p).not.toContain('Your name');
      expect(res.headers['cache-control'], p).toBe('no-store');
    }
    expect((await raw(t.httpUrl, '/join/abc')).body).toBe('not found\n');
  });

  it('ignores the query: the same page, and no redirect, whatever it names', async () => {
    for (const query of ['?app=https://evil.example/', '?redirect=https%3A%2F%2Fevil.example%2F', '?next=//evil.example']) {
      const res = await raw(t.httpUrl, `/join/${CODE}${query}`);
      expect(res.status).toBe(200);
      expect(res.body).toBe(built);
      expect(res.headers.location).toBeUndefined();
      expect(res.body).not.toContain('evil.example');
    }
  });

  it('refuses other methods', async () => {
    const res = await raw(t.httpUrl, `/join/${CODE}`, 'POST');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('never writes a code into roomgate’s log', async () => {
    const code = 'LogCanary9x8w7v6u5t4s3r2q1p0';
    await raw(t.httpUrl, `/join/${code}`);
    await raw(t.httpUrl, `/join/${code}?app=x`, 'POST');
    await raw(t.httpUrl, `/join/${code}/deeper`);
    expect(t.logs.join('')).not.toContain(code);
  });
});

describe('the join page behind the listener’s limits', () => {
  it('is rate limited per client address like every route (429 with Retry-After)', async () => {
    const files = await loadConsoleFiles(consoleDirectory());
    const router = publicRouter({ tokens: { jwks: () => '{"keys":[]}' }, jwksMaxAgeSeconds: 60, ready: () => true, consoleFiles: files, onError: () => undefined });
    const listener = await startHttpListener(router, '127.0.0.1:0', { limits: { ...t.config.http, rateLimitPerSecond: 1, rateLimitBurst: 3 } });
    try {
      const base = `http://127.0.0.1:${listener.port}`;
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await raw(base, `/join/${CODE}`)).status);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.slice(3)).toContain(429);
      const limited = await raw(base, `/join/${CODE}`);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      await listener.close(0);
    }
  });

  it('says the page is not built, uncached, when console/dist is missing', async () => {
    const router = publicRouter({ tokens: { jwks: () => '{"keys":[]}' }, jwksMaxAgeSeconds: 60, ready: () => true, consoleFiles: undefined, onError: () => undefined });
    const listener = await startHttpListener(router, '127.0.0.1:0', { limits: t.config.http });
    try {
      const res = await raw(`http://127.0.0.1:${listener.port}`, `/join/${CODE}`);
      expect(res.status).toBe(404);
      expect(res.body).toContain('The join page is not available');
      expect(res.headers).toMatchObject({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'content-security-policy': STRICT_CSP });
    } finally {
      await listener.close(0);
    }
  });
});
