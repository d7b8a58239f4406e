// @roomgate/client/verifier without a database: the checks against the
// server's own PeerTokens.check on the same tokens (the same reasons), the key
// cache against a small node:http server serving the ring's JWKS, the lifetime
// bound, and the revocation entries' expiry. The feed is tested against a real
// roomgate in test/integration/verifier*.test.ts.
import { createHash, generateKeyPairSync, KeyObject, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PeerTokenVerifier } from '../../src/client/verifier/index.js';
import { maxAgeOf } from '../../src/client/verifier/key-set.js';
import { RevocationState } from '../../src/client/verifier/revocations.js';
import { ManualClock } from '../../src/domain/clock.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { PeerTokens, type PeerTokenSubject } from '../../src/domain/peer-token.js';
import { SigningKeyRing } from '../../src/domain/signing-keys.js';
import { MemorySigningKeyStore } from '../support/fakes/index.js';
import { b64url, flipSignatureBit, forgeJws, segment, signSegments } from '../support/hostile-tokens.js';

const T0 = new Date('2026-11-25T12:00:00Z');
const ISSUER = 'roomgate-test';
const subject: PeerTokenSubject = {
  environment: 'sandbox',
  roomId: randomUUID(),
  peerId: randomUUID(),
  identity: 'user-1',
  name: 'Ann',
  metadata: '{}',
  permissions: { canPublish: true, canSubscribe: true, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false },
  generation: 1,
};

/** A JWKS server: what it serves and how, and how often it was asked. */
interface JwksServer {
  url: string;
  body: () => unknown;
  status: number;
  cacheControl: string | undefined;
  requests: { ifNoneMatch: string | undefined }[];
  close(): Promise<void>;
}

async function jwksServer(body: () => unknown): Promise<JwksServer> {
  const state: Omit<JwksServer, 'url' | 'close'> = { body, status: 200, cacheControl: 'max-age=300', requests: [] };
  const server = http.createServer((req, res) => {
    state.requests.push({ ifNoneMatch: req.headers['if-none-match'] });
    const text = JSON.stringify(state.body());
    const etag = `"${createHash('sha256').update(text).digest('base64url').slice(0, 16)}"`;
    if (state.status !== 200) return void res.writeHead(state.status).end('no');
    const headers: Record<string, string> = { 'content-type': 'application/jwk-set+json', etag };
    if (state.cacheControl) headers['cache-control'] = state.cacheControl;
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, headers).end();
    res.writeHead(200, headers).end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as JwksServer;
}

let clock: ManualClock;
let ring: SigningKeyRing;
let tokens: PeerTokens;
let privateKey: KeyObject;
let kid: string;
let jwks: JwksServer;
const verifiers: PeerTokenVerifier[] = [];

beforeAll(async () => {
  clock = new ManualClock(T0);
  ring = new SigningKeyRing(new MemorySigningKeyStore(), new KeyEncryptor(randomBytes(32)), clock);
  await ring.init();
  tokens = new PeerTokens(ring, clock, { issuer: ISSUER, clockToleranceSeconds: 5 });
  kid = ring.current().kid;
  privateKey = KeyObject.from(ring.privateKey(kid)! as Parameters<typeof KeyObject.from>[0]);
  jwks = await jwksServer(() => ring.jwks());
});
afterAll(() => jwks?.close());
afterEach(async () => {
  for (const v of verifiers.splice(0)) await v.close();
});

async function verifier(options: Partial<Parameters<typeof PeerTokenVerifier.create>[0]> = {}): Promise<PeerTokenVerifier> {
  const v = await PeerTokenVerifier.create({
    jwksUrl: jwks.url,
    issuer: ISSUER,
    environment: 'sandbox',
    now: () => clock.now().getTime(),
    ...options,
  });
  verifiers.push(v);
  return v;
}

const resetClock = () => clock.advance((T0.getTime() - clock.now().getTime()) / 1000);
const nowS = () => Math.floor(clock.now().getTime() / 1000);
const header = (over: Record<string, unknown> = {}) => ({ alg: 'EdDSA', kid, typ: 'roomgate-peer+jwt', ...over });
const claims = (over: Record<string, unknown> = {}) => ({
  room: subject.roomId,
  identity: subject.identity,
  name: subject.name,
  metadata: subject.metadata,
  permissions: subject.permissions,
  gen: 1,
  iss: ISSUER,
  aud: 'roomgate:sandbox',
  sub: subject.peerId,
  iat: nowS(),
  nbf: nowS(),
  exp: nowS() + 3600,
  jti: randomUUID(),
  ...over,
});
const without = (key: string) => {
  const c: Record<string, unknown> = claims();
  delete c[key];
  return c;
};
const forge = (h: Record<string, unknown>, p: unknown) => forgeJws(h, p, privateKey);

/** Tokens that each test one rule, all signed with the real key unless the rule is the signature. */
function hostileTokens(): [string, string][] {
  const good = forge(header(), claims());
  const [h, p, s] = good.split('.') as [string, string, string];
  const other = generateKeyPairSync('ed25519').privateKey;
  return [
    ['a good token', good],
    ['another environment', forge(header(), claims({ aud: 'roomgate:production' }))],
    ['an unknown audience', forge(header(), claims({ aud: 'roomgate:staging' }))],
    ['an audience array', forge(header(), claims({ aud: ['roomgate:sandbox'] }))],
    ['alg none', `${segment({ alg: 'none', kid, typ: 'roomgate-peer+jwt' })}.${p}.`],
    ['alg HS256', forgeJws(header({ alg: 'HS256' }), claims(), randomBytes(32))],
    ['alg Ed25519', forge(header({ alg: 'Ed25519' }), claims())],
    ['no typ', forge({ alg: 'EdDSA', kid }, claims())],
    ['typ JWT', forge(header({ typ: 'JWT' }), claims())],
    ['typ in capitals with application/', forge(header({ typ: 'application/ROOMGATE-PEER+JWT' }), claims())],
    ['crit b64 true', forge(header({ crit: ['b64'], b64: true }), claims())],
    ['crit b64 false', signSegments('EdDSA', privateKey, segment(header({ crit: ['b64'], b64: false })), segment(claims()))],
    ['crit unknown', forge(header({ crit: ['exp'] }), claims())],
    ['crit empty', forge(header({ crit: [] }), claims())],
    ['unknown kid', forge(header({ kid: 'nope' }), claims())],
    ['kid too long', forge(header({ kid: 'k'.repeat(65) }), claims())],
    ['numeric kid', forge(header({ kid: 7 }), claims())],
    ['signed by another key', forgeJws(header(), claims(), other)],
    ['a flipped signature bit', flipSignatureBit(good)],
    ['a truncated signature', `${h}.${p}.${s.slice(0, 40)}`],
    ['an empty signature', `${h}.${p}.`],
    ['padding', `${good}=`],
    ['a non-canonical last character', `${h}.${p}.${s.slice(0, -1)}${String.fromCharCode(s.charCodeAt(s.length - 1) + 1)}`],
    ['four segments', `${good}.${s}`],
    ['a header that is not JSON', signSegments('EdDSA', privateKey, b64url('{alg'), p)],
    ['a payload that is an array', forge(header(), [1, 2])],
    ['a payload of invalid UTF-8', signSegments('EdDSA', privateKey, h, b64url(Buffer.from([0x7b, 0xff, 0x7d])))],
    ['the wrong issuer', forge(header(), claims({ iss: 'someone-else' }))],
    ['no iss', forge(header(), without('iss'))],
    ['expired', forge(header(), claims({ exp: nowS() - 6 }))],
    ['expired within the tolerance', forge(header(), claims({ exp: nowS() - 4 }))],
    ['exactly at the tolerance', forge(header(), claims({ exp: nowS() - 5 }))],
    ['not yet valid', forge(header(), claims({ nbf: nowS() + 6 }))],
    ['not yet valid within the tolerance', forge(header(), claims({ nbf: nowS() + 5 }))],
    ['not yet valid with a string exp', forge(header(), claims({ nbf: nowS() + 60, exp: 'soon' }))],
    ['a string iat', forge(header(), claims({ iat: 'now' }))],
    ['a fractional exp', forge(header(), claims({ exp: nowS() + 10.5 }))],
    ['no exp', forge(header(), without('exp'))],
    ['no jti', forge(header(), without('jti'))],
    ['no sub', forge(header(), without('sub'))],
    ['a sub that is no UUID', forge(header(), claims({ sub: 'peer' }))],
    ['a room that is no UUID', forge(header(), claims({ room: 'ROOM' }))],
    ['a numeric identity', forge(header(), claims({ identity: 5 }))],
    ['a missing permission', forge(header(), claims({ permissions: { canPublish: true } }))],
    ['permissions as an array', forge(header(), claims({ permissions: [] }))],
    ['gen 0', forge(header(), claims({ gen: 0 }))],
    ['gen 1.5', forge(header(), claims({ gen: 1.5 }))],
    ['gen as text', forge(header(), claims({ gen: '2' }))],
  ];
}

describe('the offline verifier', () => {
  it("gives every token the server's reason (PeerTokens.check, then the environment check of VerifyPeerToken)", async () => {
    const v = await verifier();
    const seen = new Set<string>();
    for (const [what, token] of hostileTokens()) {
      const server = await tokens.check(token);
      const expected = !server.valid ? server.reason : server.claims.environment !== 'sandbox' ? 'WRONG_ENVIRONMENT' : 'VALID';
      const offline = await v.verify(token);
      const got = offline.valid ? 'VALID' : offline.reason;
      expect(got, what).toBe(expected);
      if (offline.valid && server.valid) expect(offline.claims, what).toEqual(server.claims);
      seen.add(got);
    }
    // The cases reach every reason the checks alone can give.
    expect([...seen].sort()).toEqual(['BAD_SIGNATURE', 'EXPIRED', 'MALFORMED', 'NOT_YET_VALID', 'VALID', 'WRONG_ENVIRONMENT', 'WRONG_ISSUER']);
  });

  it("verifies the server's own tokens, with WRONG_ROOM for another room and the claims VerifyPeerToken gives", async () => {
    const v = await verifier();
    const token = await tokens.sign(subject, tokens.stamp(600));
    const result = await v.verify(token, { roomId: subject.roomId });
    expect(result).toEqual({ valid: true, stale: false, claims: (await tokens.check(token) as { claims: unknown }).claims });
    expect(await v.verify(token, { roomId: randomUUID() })).toEqual({ valid: false, reason: 'WRONG_ROOM', stale: false });
    const production = await verifier({ environment: 'production' });
    expect(await production.verify(token)).toMatchObject({ valid: false, reason: 'WRONG_ENVIRONMENT' });
  });

  it('refuses a token past maxTokenLifetimeSeconds after its iat as EXPIRED, though its exp is later', async () => {
    const v = await verifier({ maxTokenLifetimeSeconds: 3600 });
    const token = forge(header(), claims({ exp: nowS() + 7200 }));
    expect(await v.verify(token)).toMatchObject({ valid: true });
    clock.advance(3600 + 6);
    try {
      const result = await v.verify(token);
      expect(result).toMatchObject({ valid: false, reason: 'EXPIRED' });
      expect(v.recheck((await tokens.check(token) as { claims: Parameters<typeof v.recheck>[0] }).claims)).toMatchObject({ reason: 'EXPIRED' });
    } finally {
      resetClock();
    }
  });

  it('recheck() refuses claims once they expire', async () => {
    const v = await verifier();
    const result = await v.verify(await tokens.sign(subject, tokens.stamp(60)));
    expect(result.valid).toBe(true);
    clock.advance(66);
    try {
      expect(v.recheck(result.claims!)).toMatchObject({ valid: false, reason: 'EXPIRED', stale: false });
    } finally {
      resetClock();
    }
  });
});

describe('the key cache', () => {
  it('fetches once, then on an unknown kid at most once a second, and keeps keys through a failed fetch', async () => {
    const server = await jwksServer(() => ring.jwks());
    try {
      const v = await verifier({ jwksUrl: server.url });
      const good = await tokens.sign(subject, tokens.stamp(600));
      const unknown = forge(header({ kid: 'unknown-kid' }), claims());
      expect(server.requests).toHaveLength(1);
      for (let i = 0; i < 20; i++) expect((await v.verify(good)).valid).toBe(true);
      expect(server.requests).toHaveLength(1);
      // The first unknown kid fetches (the clock has not moved a second since the load, so move it).
      clock.advance(1.001);
      const burst = await Promise.all(Array.from({ length: 20 }, () => v.verify(unknown)));
      expect(burst.every((r) => !r.valid && r.reason === 'BAD_SIGNATURE')).toBe(true);
      expect(server.requests).toHaveLength(2);
      expect(server.requests[1]!.ifNoneMatch).toMatch(/^"/);
      await v.verify(unknown);
      expect(server.requests).toHaveLength(2);
      clock.advance(1.001);
      // A failed fetch keeps the keys.
      server.status = 500;
      expect(await v.verify(unknown)).toMatchObject({ reason: 'BAD_SIGNATURE' });
      expect(server.requests).toHaveLength(3);
      expect(v.stats().keys.lastError?.message).toMatch(/answered 500/);
      expect((await v.verify(good)).valid).toBe(true);
    } finally {
      resetClock();
      await server.close();
    }
  });

  it('picks up a key published later on its first token, and fetches again when max-age runs out', async () => {
    const extra = generateKeyPairSync('ed25519');
    const extraJwk = { ...extra.publicKey.export({ format: 'jwk' }), kid: 'later', alg: 'EdDSA', use: 'sig' };
    let published = false;
    const server = await jwksServer(() => ({ keys: [...ring.jwks().keys, ...(published ? [extraJwk] : [])] }));
    server.cacheControl = 'public, max-age=1';
    try {
      const v = await verifier({ jwksUrl: server.url, now: Date.now });
      const token = forgeJws(header({ kid: 'later' }), claims({ iat: Math.floor(Date.now() / 1000), nbf: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 }), extra.privateKey);
      published = true;
      // max-age=1: the cache is fetched again within about a second, without any verification asking.
      const deadline = Date.now() + 5_000;
      while (!v.stats().keys.kids.includes('later') && Date.now() < deadline) await sleep(50);
      expect(server.requests.length, JSON.stringify(v.stats())).toBeGreaterThanOrEqual(2);
      expect(v.stats().keys.kids).toContain('later');
      expect((await v.verify(token)).valid).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('uses only Ed25519 signing keys of the set', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
    const ed = generateKeyPairSync('ed25519');
    const edJwk = ed.publicKey.export({ format: 'jwk' });
    const server = await jwksServer(() => ({
      keys: [
        { ...rsa, kid: 'rsa' },
        { ...x25519, kid: 'x25519' },
        { ...edJwk, kid: 'enc', use: 'enc' },
        { ...edJwk, kid: 'es', alg: 'ES256' },
        { ...edJwk, kid: 'ok', alg: 'EdDSA' },
        ...ring.jwks().keys,
      ],
    }));
    try {
      const v = await verifier({ jwksUrl: server.url });
      expect(v.stats().keys.kids.sort()).toEqual(['ok', kid].sort());
    } finally {
      await server.close();
    }
  });

  it('reads Cache-Control', () => {
    expect(maxAgeOf('public, max-age=600')).toBe(600_000);
    expect(maxAgeOf('no-store')).toBe(0);
    expect(maxAgeOf('public')).toBeUndefined();
    expect(maxAgeOf(null)).toBeUndefined();
  });

  it('fails to start when the first fetch fails', async () => {
    await expect(PeerTokenVerifier.create({ jwksUrl: 'http://127.0.0.1:9/jwks.json', issuer: ISSUER, environment: 'sandbox' })).rejects.toThrow();
  });
});

describe('revocation entries', () => {
  const DAY = 86_400_000;
  const token = (over: Partial<{ peerId: string; roomId: string; identity: string; generation: number }> = {}) => ({
    peerId: 'p1',
    roomId: 'r1',
    identity: 'ann',
    generation: 1,
    ...over,
  });

  it('refuse tokens until every token they could refuse has expired, then are dropped', () => {
    const state = new RevocationState(DAY);
    state.revokePeer('p1', 0);
    state.deleteRoom('r2', 1_000);
    state.supersede('p3', 3, 2_000);
    expect(state.check(token(), 10)).toBe('REVOKED');
    expect(state.check(token({ peerId: 'px', roomId: 'r2' }), 10)).toBe('REVOKED');
    expect(state.check(token({ peerId: 'p3', generation: 2 }), 10)).toBe('SUPERSEDED');
    expect(state.check(token({ peerId: 'p3', generation: 3 }), 10)).toBeUndefined();
    state.prune(DAY - 1);
    expect(state.counts()).toEqual({ peers: 1, generations: 1, rooms: 1, bans: 0 });
    state.prune(DAY);
    expect(state.counts()).toEqual({ peers: 0, generations: 1, rooms: 1, bans: 0 });
    state.prune(DAY + 2_000);
    expect(state.counts()).toEqual({ peers: 0, generations: 0, rooms: 0, bans: 0 });
  });

  it('keep the highest generation, and a later revocation restarts an entry', () => {
    const state = new RevocationState(DAY);
    state.supersede('p1', 3, 0);
    state.supersede('p1', 2, 100);
    expect(state.check(token({ generation: 2 }), 200)).toBe('SUPERSEDED');
    state.revokePeer('p2', 0);
    state.revokePeer('p2', DAY - 1);
    state.prune(DAY + 50);
    expect(state.check(token({ peerId: 'p2' }), DAY + 50)).toBe('REVOKED');
    expect(state.counts().generations).toBe(1);
  });

  it('hold bans until lifted or expired, in their room or environment-wide', () => {
    const state = new RevocationState(DAY);
    state.ban({ id: 'b1', identity: 'ann', roomId: 'r1', expiresAtMs: undefined });
    state.ban({ id: 'b2', identity: 'bob', roomId: undefined, expiresAtMs: 5_000 });
    expect(state.check(token(), 0)).toBe('REVOKED');
    expect(state.check(token({ roomId: 'r2' }), 0)).toBeUndefined();
    expect(state.check(token({ identity: 'bob', roomId: 'r9' }), 4_999)).toBe('REVOKED');
    expect(state.check(token({ identity: 'bob', roomId: 'r9' }), 5_000)).toBeUndefined();
    state.prune(10 * DAY);
    expect(state.counts().bans).toBe(1);
    state.unban('b1');
    expect(state.check(token(), 0)).toBeUndefined();
    expect(state.counts().bans).toBe(0);
  });

  it('stay bounded under a stream of revocations: one day of entries at most', () => {
    const state = new RevocationState(DAY);
    for (let i = 0; i < 100_000; i++) {
      const at = i * 3_000; // one every 3 s, for 3.5 days
      state.revokePeer(`p${i}`, at);
      if (i % 1_000 === 0) state.prune(at);
    }
    expect(state.counts().peers).toBeLessThanOrEqual(DAY / 3_000 + 1_000);
  });
});
