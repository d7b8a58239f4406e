// Third-party verifiers pointed at the JWKS URL of a real roomgate (real
// Postgres, real HTTP): jose's createRemoteJWKSet and PyJWT's PyJWKClient
// (examples/python/verify_offline.py, Debian's python3-jwt) verify peer tokens
// offline, and keep verifying old and new tokens across a signing-key
// rotation with no manual step.
//
// The rotation runs in real time, so the verifiers' caches age as they would
// in production: roomgate runs with a pre-publish period of 33 s and a clock
// tolerance of 0, which makes the JWKS max-age 33 - 30 (key reload interval)
// - 0 = 3 s. The test takes about 40 s.
import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JWKS_PATH } from '../../src/http/jwks-route.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { missingPyJwt, PYTHON_REQUIRED, startPythonVerifier, type PythonVerifier } from '../support/python-verifier.js';

const PREPUBLISH_SECONDS = 33;
const MAX_AGE_SECONDS = 3;

const missing = await missingPyJwt();
if (missing !== undefined && !PYTHON_REQUIRED) console.warn(`PyJWKClient tests skipped: ${missing}`);

let t: TestRoomgate;
let admin: string;
let jwksUrl: URL;
beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_KEY_PREPUBLISH_SECONDS: String(PREPUBLISH_SECONDS), ROOMGATE_CLOCK_TOLERANCE_SECONDS: '0' });
  admin = await t.managementToken();
  jwksUrl = new URL(JWKS_PATH, t.httpUrl);
});
afterAll(() => t?.close());

beforeEach((ctx) => {
  if (missing === undefined) return;
  if (PYTHON_REQUIRED) throw new Error(`ROOMGATE_REQUIRE_PYTHON_EXAMPLE=1, but ${missing}`);
  ctx.skip(`needs ${missing}`);
});

async function peerToken(): Promise<{ token: string; peerId: string; roomId: string; kid: string }> {
  const { room } = await t.client.rooms.createRoom({}, { token: admin });
  const created = await t.client.peers.createPeer({ roomId: room!.id, identity: `user-${randomUUID()}` }, { token: admin });
  return { token: created.peerToken, peerId: created.peer!.id, roomId: room!.id, kid: decodeProtectedHeader(created.peerToken).kid! };
}

/** jose's verification of a peer token with the checks a media server makes. */
const joseVerify = (token: string, keys: JWTVerifyGetKey) =>
  jwtVerify(token, keys, { algorithms: ['EdDSA'], typ: 'roomgate-peer+jwt', issuer: 'roomgate', audience: 'roomgate:sandbox' });

/** A remote JWKS that records each fetch: when, and the Cache-Control it got. */
function recordingJwks(options: { cacheMaxAge?: number; cooldownDuration?: number } = {}) {
  const fetches: { at: number; cacheControl: string | null; kids: string[] }[] = [];
  const keys = createRemoteJWKSet(jwksUrl, {
    ...options,
    [customFetch]: async (url: string, init: RequestInit) => {
      const res = await fetch(url, init);
      const body = (await res.clone().json()) as { keys: { kid: string }[] };
      fetches.push({ at: Date.now(), cacheControl: res.headers.get('cache-control'), kids: body.keys.map((k) => k.kid) });
      return res;
    },
  });
  return { keys, fetches };
}

describe('offline verifiers against the JWKS URL', () => {
  let python: PythonVerifier;
  beforeAll(() => {
    if (missing === undefined) python = startPythonVerifier(jwksUrl.href);
  });
  afterAll(() => python?.close());

  it('verify a peer token with jose createRemoteJWKSet and PyJWKClient, and refuse a tampered one, a foreign one and one for another environment', async () => {
    const { token, peerId, roomId, kid } = await peerToken();
    const { keys } = recordingJwks();
    const { payload } = await joseVerify(token, keys);
    expect(payload).toMatchObject({ sub: peerId, room: roomId });
    expect(await python.verify(token)).toBe(`valid peer ${peerId} room ${roomId} kid ${kid}`);

    const [h, p, s] = token.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, room: randomUUID() })).toString('base64url')}.${s}`;
    await expect(joseVerify(tampered, keys)).rejects.toThrow(/signature verification failed/);
    expect(await python.verify(tampered)).toMatch(/^invalid InvalidSignatureError/);
    const unknownKid = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'nope', typ: 'roomgate-peer+jwt' })).toString('base64url')}.${p}.${s}`;
    await expect(joseVerify(unknownKid, keys)).rejects.toThrow(/no applicable key found/);
    expect(await python.verify(unknownKid)).toMatch(/^invalid InvalidTokenError: no key 'nope' at the JWKS URL$/);

    const other = startPythonVerifier(jwksUrl.href, { ROOMGATE_ENVIRONMENT: 'production' });
    try {
      expect(await other.verify(token)).toMatch(/^invalid InvalidAudienceError/);
    } finally {
      await other.close();
    }
  });

  it(
    'keep verifying old and new tokens across a rotation with no manual step; a jose that only honours max-age already holds the new key when it starts signing',
    async () => {
      const before = await peerToken();
      // As a verifier that honours Cache-Control would be set up: cache for
      // max-age, and never re-fetch on an unknown kid (cooldown forever), so
      // only max-age can bring it the new key.
      const probe = await fetch(jwksUrl);
      expect(probe.headers.get('cache-control')).toBe(`public, max-age=${MAX_AGE_SECONDS}`);
      const strict = recordingJwks({ cacheMaxAge: MAX_AGE_SECONDS * 1000, cooldownDuration: 24 * 3600_000 });
      // And as most are: jose's and PyJWKClient's defaults (10 and 5 minutes' cache, re-fetch on an unknown kid).
      const defaults = recordingJwks();
      for (const keys of [strict.keys, defaults.keys]) await joseVerify(before.token, keys);
      expect(await python.verify(before.token)).toMatch(/^valid /);

      const { signingKey } = await t.client.tokens.rotateSigningKey({}, { token: admin });
      const newKid = signingKey!.kid;
      const activatesAt = signingKey!.activateTime!.getTime();
      expect(activatesAt - Date.now()).toBeGreaterThan((PREPUBLISH_SECONDS - 2) * 1000);

      // Until the new key signs, tokens still come from the old one, and every verifier takes them.
      while (Date.now() < activatesAt - 1_500) {
        const current = await peerToken();
        expect(current.kid).toBe(before.kid);
        for (const keys of [strict.keys, defaults.keys]) await joseVerify(current.token, keys);
        expect(await python.verify(current.token)).toMatch(/^valid /);
        await new Promise((r) => setTimeout(r, 1_000));
      }
      // Before activation the strict verifier has re-fetched on max-age alone and holds the new key.
      expect(strict.keys.jwks()!.keys.map((k) => k.kid)).toContain(newKid);
      expect(strict.fetches.length).toBeGreaterThan(2);
      expect(strict.fetches.at(-1)!.at).toBeLessThan(activatesAt);

      await new Promise((r) => setTimeout(r, Math.max(0, activatesAt - Date.now() + 200)));
      const after = await peerToken();
      expect(after.kid).toBe(newKid);
      const fetchesBefore = strict.fetches.length;
      for (const keys of [strict.keys, defaults.keys]) {
        expect((await joseVerify(after.token, keys)).protectedHeader.kid).toBe(newKid);
        // The old key verifies until every token it signed has expired.
        expect((await joseVerify(before.token, keys)).protectedHeader.kid).toBe(before.kid);
      }
      expect(await python.verify(after.token)).toBe(`valid peer ${after.peerId} room ${after.roomId} kid ${newKid}`);
      expect(await python.verify(before.token)).toBe(`valid peer ${before.peerId} room ${before.roomId} kid ${before.kid}`);
      // No fetch was needed to verify the first new token: the strict verifier had the key already
      // (at most one more, if its 3 s cache lapsed in the last moments).
      expect(strict.fetches.length - fetchesBefore).toBeLessThanOrEqual(1);
      for (const f of strict.fetches) expect(f.cacheControl).toBe(`public, max-age=${MAX_AGE_SECONDS}`);
    },
    90_000,
  );
});
