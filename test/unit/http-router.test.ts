// The router and the JWKS handler on a real node:http server on 127.0.0.1:0,
// with stand-ins for the domain (a fixed JWKS text), no database.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwksEtag, jwksRoute, noneMatch } from '../../src/http/jwks-route.js';
import { HttpRouter } from '../../src/http/router.js';

const errors: unknown[] = [];
let jwksText = '{"keys":[{"kid":"a"}]}';
let base: string;
let server: http.Server;
beforeAll(async () => {
  const router = new HttpRouter((err) => errors.push(err))
    .get('/jwks', jwksRoute({ jwks: () => jwksText }, 42))
    .get('/boom', () => {
      throw new Error('secret detail at /src/x.ts:1:2');
    })
    .route('/both', { handlers: { GET: (_q, r) => void r.end('get'), POST: (_q, r) => void r.end('post') }, acceptsBody: true });
  server = http.createServer((req, res) => void router.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('HttpRouter', () => {
  it('answers a throwing handler with 500 "internal error" and passes the error to onError only', async () => {
    const res = await fetch(`${base}/boom`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('internal error\n');
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/secret detail/);
  });

  it('lists every method of a route in Allow, with HEAD for GET, and routes a body where the route takes one', async () => {
    const put = await fetch(`${base}/both`, { method: 'PUT', body: 'x' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    const post = await fetch(`${base}/both`, { method: 'POST', body: 'x' });
    expect(await post.text()).toBe('post');
  });

  it('refuses a second route on one path', () => {
    expect(() => new HttpRouter(() => undefined).get('/a', () => undefined).get('/a', () => undefined)).toThrow(/already defined/);
  });
});

describe('jwksRoute', () => {
  it('serves the text it is given with the max-age it is given, and a new ETag when the text changes', async () => {
    const first = await fetch(`${base}/jwks`);
    expect(await first.text()).toBe(jwksText);
    expect(first.headers.get('cache-control')).toBe('public, max-age=42');
    expect(first.headers.get('etag')).toBe(jwksEtag(jwksText));
    jwksText = '{"keys":[{"kid":"b"}]}';
    const second = await fetch(`${base}/jwks`, { headers: { 'if-none-match': first.headers.get('etag')! } });
    expect(second.status).toBe(200);
    expect(second.headers.get('etag')).toBe(jwksEtag(jwksText));
    expect(second.headers.get('etag')).not.toBe(first.headers.get('etag'));
  });

  it('gives the same ETag for the same text in any process (the SHA-256 of the bytes, as openssl dgst computes it), and different ones for different texts', () => {
    expect(jwksEtag('{"keys":[]}')).toBe('"' + 'ljjRGRRzXQByAC3U1nxzSpTuegzYRebcvJhO51gYYKc' + '"');
    expect(jwksEtag('{"keys":[]} ')).not.toBe(jwksEtag('{"keys":[]}'));
  });
});

describe('noneMatch', () => {
  it('matches the tag, a list holding it, its weak form, and *', () => {
    const tag = '"abc"';
    expect(noneMatch(undefined, tag)).toBe(false);
    expect(noneMatch('"abc"', tag)).toBe(true);
    expect(noneMatch('"x", "abc"', tag)).toBe(true);
    expect(noneMatch('W/"abc"', tag)).toBe(true);
    expect(noneMatch('*', tag)).toBe(true);
    expect(noneMatch('"abcd"', tag)).toBe(false);
    expect(noneMatch('abc', tag)).toBe(false);
    expect(noneMatch('', tag)).toBe(false);
  });
});
