// The public HTTP listener of a real roomgate (startRoomgate on a database of
// this file's own): the JWKS at its well-known URL against GetJwks, its cache
// headers and ETag, and the health endpoints, over real HTTP with fetch.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jwksMaxAgeSeconds } from '../../src/http/jwks-cache.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
beforeAll(async () => {
  t = await startTestRoomgate();
});
afterAll(() => t?.close());

describe('GET /.well-known/jwks.json', () => {
  it('is the JWKS of GetJwks, as application/jwk-set+json with a max-age from the pre-publish period and a strong ETag', async () => {
    const res = await fetch(`${t.httpUrl}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const body = await res.text();
    const { jwksJson } = await t.client.tokens.getJwks({});
    expect(body).toBe(jwksJson);
    const jwks = JSON.parse(body) as { keys: { kid: string; kty: string; crv: string; alg: string; use: string }[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(res.headers.get('content-type')).toBe('application/jwk-set+json');
    expect(res.headers.get('cache-control')).toBe(`public, max-age=${jwksMaxAgeSeconds(t.config)}`);
    expect(jwksMaxAgeSeconds(t.config)).toBe(3600 - 30 - 5);
    expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers If-None-Match with 304 and no body while the key set is the same, and 200 with a new ETag after a rotation', async () => {
    const url = `${t.httpUrl}/.well-known/jwks.json`;
    const first = await fetch(url);
    const etag = first.headers.get('etag')!;
    const again = await fetch(url, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.headers.get('cache-control')).toBe(first.headers.get('cache-control'));
    expect((await fetch(url, { headers: { 'if-none-match': `"other", W/${etag}` } })).status).toBe(304);
    expect((await fetch(url, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);

    const admin = await t.managementToken();
    const { signingKey: key } = await t.client.tokens.rotateSigningKey({ prepublishSeconds: 0 }, { token: admin });
    const after = await fetch(url, { headers: { 'if-none-match': etag } });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    const kids = ((await after.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    expect(kids).toHaveLength(2);
    expect(kids[0]).toBe(key!.kid);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const get = await fetch(`${t.httpUrl}/.well-known/jwks.json`);
    const body = await get.text();
    const head = await fetch(`${t.httpUrl}/.well-known/jwks.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(head.headers.get('etag')).toBe(get.headers.get('etag'));
  });
});

describe('across instances', () => {
  it('serves the same bytes and ETag on every instance of one database, before and after a rotation on one of them', async () => {
    const second = await startTestRoomgate({}, { sharing: t });
    try {
      const fetchBoth = () =>
        Promise.all(
          [t, second].map(async (r) => {
            const res = await fetch(`${r.httpUrl}/.well-known/jwks.json`);
            return { etag: res.headers.get('etag'), body: await res.text() };
          }),
        );
      const [a, b] = await fetchBoth();
      expect(b).toEqual(a);
      const admin = await t.managementToken();
      const { signingKey } = await second.client.tokens.rotateSigningKey({ prepublishSeconds: 0 }, { token: admin });
      // The other instance reloads on the rotation's NOTIFY.
      await vi.waitFor(async () => {
        const [x, y] = await fetchBoth();
        expect(x!.body).toContain(signingKey!.kid);
        expect(y).toEqual(x);
        expect(x!.etag).not.toBe(a!.etag);
      });
      // A verifier's If-None-Match from one instance is honoured by the other.
      const [x] = await fetchBoth();
      const res = await fetch(`${second.httpUrl}/.well-known/jwks.json`, { headers: { 'if-none-match': x!.etag! } });
      expect(res.status).toBe(304);
    } finally {
      await second.close();
    }
  });
});

describe('health', () => {
  it('GET /healthz and /readyz answer 200 while the database is reachable, never cached', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`${t.httpUrl}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });
});
