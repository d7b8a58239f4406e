// Issue 3, "Hostile input", over real gRPC: forged and malformed peer tokens,
// bad management credentials and authorization metadata, and malicious or
// out-of-range request fields. Every case asserts the exact gRPC status (or,
// for VerifyPeerToken, the exact reason) and that the database did not change
// (test/support/db-fingerprint.ts). Forged tokens are signed with the
// server's real key where that matters (test/support/hostile-tokens.ts), so
// each is refused for what it says and not merely for its signature. The last
// test checks that the server still serves.
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenInvalidReason } from '../../src/client/index.js';
import { mintManagementToken } from '../../src/domain/management-token.js';
import type { PeerTokenSubject, TokenInvalidReason as Reason } from '../../src/domain/peer-token.js';
import { CreatePeerRequest, CreatePeerResponse } from '../../src/gen/roomgate/v1/peer_service.js';
import { ManagementScope } from '../../src/gen/roomgate/v1/resources.js';
import { expectDbUnchanged } from '../support/db-fingerprint.js';
import {
  b64url,
  flipSignatureBit,
  forgeJws,
  readServerSigningKeys,
  realPeerTokenSigner,
  segment,
  signSegments,
  withManagementChecksum,
  type ServerSigningKey,
} from '../support/hostile-tokens.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

const reason = (r: Reason) => TokenInvalidReason[`TOKEN_INVALID_REASON_${r}`];
/** The one message of every failed authentication (src/domain/authenticator.ts). */
const REJECTED = 'invalid, expired or revoked credentials';
const NOT_BEARER = /^authorization metadata must be 'Bearer <token>'$/;
const TOO_LONG = /^authorization metadata is longer than 8192 bytes$/;
const PERMISSIONS = { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: false, canRemoveParticipants: false };

let t: TestRoomgate;
let raw: Client;
let admin: string;
let roomId: string;
let otherRoomId: string;
/** The peer whose real token every forgery starts from, and a second peer in its room. */
let victim: { id: string; token: string };
let neighbour: { id: string; token: string };
let live: { roomId: string; token: string };
let revoked: string;
let expiring: { token: string; expiresAt: Date };
let key: ServerSigningKey;
let header: ProtectedHeaderParameters;
let claims: JWTPayload;
let subject: PeerTokenSubject;
let jwksJson: string;
let signAt: Awaited<ReturnType<typeof realPeerTokenSigner>>;

const as = (token: string) => ({ token });
const unchanged = <T>(action: () => Promise<T>) => expectDbUnchanged(t.db.pool, action);
const verify = (token: string) => t.client.tokens.verifyPeerToken({ token }, as(admin));
const getRoomAs = (token: string) => t.client.rooms.getRoom({ roomId }, as(token));
const getRoomWith = (...authorization: string[]) => {
  const metadata = new Metadata();
  for (const value of authorization) metadata.add('authorization', value);
  return t.client.rooms.getRoom({ roomId }, { metadata });
};
/** Signs the victim's real header and claims, changed as given, with the server's real key. */
const real = (h: Record<string, unknown>, c: unknown = claims) => forgeJws({ ...header, ...h }, c, key.privateKey);
const withClaims = (changes: Record<string, unknown>) => real({}, { ...claims, ...changes });
const without = <T extends object>(o: T, k: keyof T) => Object.fromEntries(Object.entries(o).filter(([name]) => name !== k));
const realSegments = () => victim.token.split('.') as [string, string, string];
const oneCharOff = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
/** The real token's segments with the payload's character at index 20 replaced. */
const payloadChanged = (replace: (c: string) => string) => {
  const [h, p, s] = realSegments();
  return [h, `${p.slice(0, 20)}${replace(p[20]!)}${p.slice(21)}`, s] as const;
};
/** A real-key token in standard base64 ('+', '/') instead of base64url; re-signed with a nonce until it has such a character. */
function base64NotUrl(): string {
  for (let nonce = 0; ; nonce++) {
    const token = withClaims({ nonce });
    if (/[-_]/.test(token)) return token.replace(/-/g, '+').replace(/_/g, '/');
  }
}

async function createPeer(room: string, token = admin) {
  const res = await t.client.peers.createPeer({ roomId: room, permissions: PERMISSIONS }, as(token));
  return { id: res.peer!.id, token: res.peerToken };
}

beforeAll(async () => {
  t = await startTestRoomgate();
  raw = new Client(t.address, credentials.createInsecure());
  admin = await t.managementToken('sandbox');
  roomId = (await t.client.rooms.createRoom({ name: 'hostile' }, as(admin))).room!.id;
  otherRoomId = (await t.client.rooms.createRoom({}, as(admin))).room!.id;
  victim = await createPeer(roomId);
  neighbour = await createPeer(roomId);
  const liveAdmin = await t.managementToken('production');
  const liveRoomId = (await t.client.rooms.createRoom({}, as(liveAdmin))).room!.id;
  live = { roomId: liveRoomId, token: (await createPeer(liveRoomId, liveAdmin)).token };

  const scopes = [ManagementScope.MANAGEMENT_SCOPE_ADMIN];
  const toRevoke = await t.client.tokens.createManagementToken({ name: 'to-revoke', scopes }, as(admin));
  await getRoomAs(toRevoke.token);
  await t.client.tokens.revokeManagementToken({ id: toRevoke.managementToken!.id }, as(admin));
  revoked = toRevoke.token;
  const expiresAt = new Date(Date.now() + 2_000);
  expiring = { token: (await t.client.tokens.createManagementToken({ name: 'short', scopes, expireTime: expiresAt }, as(admin))).token, expiresAt };
  await getRoomAs(expiring.token);

  key = (await readServerSigningKeys(t.db.pool, t.config.keyEncryptionKey!))[0]!;
  header = decodeProtectedHeader(victim.token);
  claims = decodeJwt(victim.token);
  subject = {
    environment: 'sandbox', roomId, peerId: victim.id, identity: victim.id, name: '', metadata: '{}',
    permissions: PERMISSIONS, generation: claims.gen as number,
  };
  jwksJson = (await t.client.tokens.getJwks({})).jwksJson;
  signAt = await realPeerTokenSigner(t.db.pool, t.config.keyEncryptionKey!, t.config.issuer);
});
afterAll(async () => {
  raw?.close();
  await t?.close();
});

describe('the harness', () => {
  it('sees any change in the database but a management token\'s last use', async () => {
    const { pool } = t.db;
    await expectDbUnchanged(pool, () => pool.query('UPDATE management_tokens SET last_used_at = now()'));
    const changed = /the database changed/;
    await expect(expectDbUnchanged(pool, () => pool.query("UPDATE management_tokens SET name = name || '!' WHERE name = 'to-revoke'"))).rejects.toThrow(changed);
    await expect(expectDbUnchanged(pool, () => t.client.rooms.updateRoom({ roomId: otherRoomId, metadata: '{"v":1}' }, as(admin)))).rejects.toThrow(changed);
    // An INSERT rolled back leaves no row, but it used up an identity value.
    const rolledBack = async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query("INSERT INTO rooms (id, environment) VALUES (gen_random_uuid(), 'sandbox')");
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
    };
    await expect(expectDbUnchanged(pool, rolledBack)).rejects.toThrow(changed);
  });

  it('re-signs the real token byte for byte, and that token is valid', async () => {
    expect(real({})).toBe(victim.token);
    expect(await verify(real({}))).toMatchObject({ valid: true });
    expect((await getRoomAs(real({}))).room!.id).toBe(roomId);
  });
});

interface TokenCase {
  name: string;
  token: () => string;
  reason: Reason;
  /** What GetRoom says with the token as bearer, if not the one indistinct message. */
  bearer?: RegExp;
}

const TOKEN_CASES: TokenCase[] = [
  // Algorithms: only EdDSA verifies, whatever key the header names.
  { name: "alg 'none', unsecured", token: () => `${segment({ ...header, alg: 'none' })}.${segment(claims)}.`, reason: 'MALFORMED' },
  {
    name: 'HS256 keyed with the public key bytes (JWKS x)',
    token: () => forgeJws({ ...header, alg: 'HS256' }, claims, Buffer.from(key.publicJwk.x, 'base64url')),
    reason: 'MALFORMED',
  },
  {
    name: 'HS256 keyed with the public key as PEM',
    token: () => forgeJws({ ...header, alg: 'HS256' }, claims, Buffer.from(createPublicKey(key.privateKey).export({ type: 'spki', format: 'pem' }))),
    reason: 'MALFORMED',
  },
  { name: 'HS512 keyed with the JWKS JSON', token: () => forgeJws({ ...header, alg: 'HS512' }, claims, Buffer.from(jwksJson)), reason: 'MALFORMED' },
  {
    name: 'ES256 with a fresh P-256 key',
    token: () => forgeJws({ ...header, alg: 'ES256' }, claims, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
    reason: 'MALFORMED',
  },
  {
    name: 'RS256 with a fresh RSA key',
    token: () => forgeJws({ ...header, alg: 'RS256' }, claims, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
    reason: 'MALFORMED',
  },
  { name: "alg 'Ed25519' (the fully-specified name), real key", token: () => real({ alg: 'Ed25519' }), reason: 'MALFORMED' },
  { name: 'EdDSA with a fresh Ed25519 key and the real kid', token: () => forgeJws(header, claims, generateKeyPairSync('ed25519').privateKey), reason: 'BAD_SIGNATURE' },
  {
    name: 'EdDSA with a fresh key embedded as jwk, plus jku and x5u',
    token: () => {
      const fresh = generateKeyPairSync('ed25519');
      const jwk = fresh.publicKey.export({ format: 'jwk' });
      return forgeJws({ ...header, jwk, jku: 'http://127.0.0.1:9/jwks.json', x5u: 'http://127.0.0.1:9/x5u.pem' }, claims, fresh.privateKey);
    },
    reason: 'BAD_SIGNATURE',
  },
  // kid: a key the server does not hold is a bad signature, whatever the kid looks like.
  { name: 'kid unknown', token: () => real({ kid: 'no-such-key' }), reason: 'BAD_SIGNATURE' },
  { name: "kid ' OR 1=1 --", token: () => real({ kid: "' OR 1=1 --" }), reason: 'BAD_SIGNATURE' },
  { name: 'kid __proto__', token: () => real({ kid: '__proto__' }), reason: 'BAD_SIGNATURE' },
  { name: 'kid of 10 KB', token: () => real({ kid: 'k'.repeat(10_240) }), reason: 'BAD_SIGNATURE', bearer: TOO_LONG },
  { name: 'kid a number', token: () => real({ kid: 1 }), reason: 'BAD_SIGNATURE' },
  { name: 'kid missing', token: () => real({ kid: undefined }), reason: 'BAD_SIGNATURE' },
  // Claims, signed with the real key.
  { name: 'exp missing', token: () => real({}, without(claims, 'exp')), reason: 'MALFORMED' },
  { name: 'exp a string', token: () => withClaims({ exp: String(claims.exp) }), reason: 'MALFORMED' },
  { name: 'sub missing', token: () => real({}, without(claims, 'sub')), reason: 'MALFORMED' },
  { name: "sub ' OR '1'='1", token: () => withClaims({ sub: "' OR '1'='1" }), reason: 'MALFORMED' },
  { name: 'aud of an unknown audience', token: () => withClaims({ aud: 'roomgate:staging' }), reason: 'MALFORMED' },
  { name: 'aud an array', token: () => withClaims({ aud: ['roomgate:sandbox'] }), reason: 'MALFORMED' },
  { name: 'iss of another issuer', token: () => withClaims({ iss: 'evil' }), reason: 'WRONG_ISSUER' },
  { name: 'iss missing', token: () => real({}, without(claims, 'iss')), reason: 'MALFORMED' },
  { name: 'gen 0', token: () => withClaims({ gen: 0 }), reason: 'MALFORMED' },
  { name: 'permissions missing', token: () => real({}, without(claims, 'permissions')), reason: 'MALFORMED' },
  { name: 'a peer that never existed', token: () => withClaims({ sub: randomUUID(), jti: randomUUID() }), reason: 'REVOKED' },
  // typ: no other kind of JWT passes as a peer token, even one signed with the real key.
  { name: "typ 'JWT'", token: () => real({ typ: 'JWT' }), reason: 'MALFORMED' },
  { name: "typ 'at+jwt'", token: () => real({ typ: 'at+jwt' }), reason: 'MALFORMED' },
  { name: "typ 'webhook+jwt'", token: () => real({ typ: 'webhook+jwt' }), reason: 'MALFORMED' },
  { name: 'typ missing', token: () => real({ typ: undefined }), reason: 'MALFORMED' },
  { name: 'a JWKS-looking JWT', token: () => real({ typ: 'jwk-set+jwt' }, JSON.parse(jwksJson)), reason: 'MALFORMED' },
  // crit: extensions roomgate does not understand.
  { name: "crit ['exp']", token: () => real({ crit: ['exp'] }), reason: 'MALFORMED' },
  { name: "crit ['x-unknown']", token: () => real({ crit: ['x-unknown'], 'x-unknown': true }), reason: 'MALFORMED' },
  { name: "crit ['b64'] with b64 false", token: () => real({ crit: ['b64'], b64: false }), reason: 'MALFORMED' },
  // Structure.
  { name: 'payload not JSON', token: () => real({}, 'not json'), reason: 'MALFORMED' },
  { name: 'payload a JSON array', token: () => real({}, [claims]), reason: 'MALFORMED' },
  { name: 'payload invalid UTF-8', token: () => real({}, Buffer.from([0x7b, 0x22, 0x73, 0x75, 0x62, 0x22, 0x3a, 0x22, 0xff, 0xc0, 0x22, 0x7d])), reason: 'MALFORMED' },
  { name: 'header not JSON', token: () => `${b64url('{alg:EdDSA')}.${realSegments()[1]}.${realSegments()[2]}`, reason: 'MALFORMED' },
  { name: 'empty segments', token: () => '..', reason: 'MALFORMED' },
  { name: 'empty signature', token: () => `${realSegments()[0]}.${realSegments()[1]}.`, reason: 'MALFORMED' }, // refused by shape: every segment must be non-empty base64url
  { name: 'two segments', token: () => realSegments().slice(0, 2).join('.'), reason: 'MALFORMED' },
  { name: 'four segments', token: () => `${victim.token}.${realSegments()[2]}`, reason: 'MALFORMED' },
  { name: 'five segments (JWE shape)', token: () => `${victim.token}.AAAA.AAAA`, reason: 'MALFORMED' },
  { name: "header padded with '='", token: () => { const [h, p, s] = realSegments(); return `${h}==.${p}.${s}`; }, reason: 'MALFORMED' },
  { name: "signature padded with '=='", token: () => `${victim.token}==`, reason: 'MALFORMED' },
  {
    name: 'whitespace inside the signature',
    token: () => { const [h, p, s] = realSegments(); return `${h}.${p}.${s.slice(0, 40)} ${s.slice(40)}`; },
    reason: 'MALFORMED',
    bearer: NOT_BEARER,
  },
  { name: "base64 '+' and '/' instead of base64url", token: () => base64NotUrl(), reason: 'MALFORMED' },
  // The signature covers the segments as sent, so a changed character is a bad
  // signature; only garbage the real key signed gets as far as decoding.
  { name: 'one payload character changed (tampering)', token: () => payloadChanged((c) => (c === 'A' ? 'B' : 'A')).join('.'), reason: 'BAD_SIGNATURE' },
  {
    name: "garbage '*' in a payload that the real key signed",
    token: () => signSegments('EdDSA', key.privateKey, ...(payloadChanged(() => '*').slice(0, 2) as [string, string])),
    reason: 'MALFORMED',
  },
];

describe('forged and malformed peer tokens', () => {
  it.each(TOKEN_CASES)('$name: VerifyPeerToken says $reason, and as bearer it is UNAUTHENTICATED', async ({ token, reason: why, bearer }) => {
    const forged = token();
    await unchanged(async () => {
      expect(await verify(forged)).toEqual({ valid: false, reason: reason(why), claims: undefined });
      const err = await expectStatus(getRoomAs(forged), status.UNAUTHENTICATED);
      if (bearer) expect(err.details).toMatch(bearer);
      else expect(err.details).toBe(REJECTED);
    });
  });
});

describe('clock tolerance (5 s) on exp and nbf, with tokens signed by the real key at computed times', () => {
  // jose compares whole seconds: exp is refused once exp <= floor(now) - 5,
  // nbf once nbf > floor(now) + 5. Each time below keeps at least 1.5 s of
  // margin from the edge for however the second boundaries fall.
  const TOLERANCE = 5;
  const ttl = 60;
  const sign = (issuedAt: number, lifetime = ttl) => signAt(subject, issuedAt, lifetime);
  beforeAll(() => expect(t.config.clockToleranceSeconds).toBe(TOLERANCE));

  it('accepts exp 2.5-3.5 s ago (inside the tolerance)', async () => {
    const now = Date.now() / 1000;
    const exp = Math.ceil(now - TOLERANCE + 1.5); // accepted until exp + 5 >= now + 1.5
    expect(exp).toBeLessThanOrEqual(now - 2.5); // past exp: without the tolerance it would be refused
    const token = await sign(exp - ttl);
    await unchanged(async () => {
      expect(await verify(token)).toMatchObject({ valid: true, claims: { expireTime: new Date(exp * 1000) } });
      expect((await getRoomAs(token)).room!.id).toBe(roomId);
    });
  });

  it('refuses exp 7-8 s ago as EXPIRED', async () => {
    const token = await sign(Math.floor(Date.now() / 1000) - TOLERANCE - 2 - ttl); // refused since 2 s ago or more
    await unchanged(async () => {
      expect(await verify(token)).toEqual({ valid: false, reason: reason('EXPIRED'), claims: undefined });
      expect((await expectStatus(getRoomAs(token), status.UNAUTHENTICATED)).details).toBe(REJECTED);
    });
  });

  it('accepts nbf 3-4 s ahead (inside the tolerance)', async () => {
    const nbf = Math.floor(Date.now() / 1000) + TOLERANCE - 1; // nbf <= floor(now) + 5 whenever the check runs
    const token = await sign(nbf, 3600);
    await unchanged(async () => {
      expect(await verify(token)).toMatchObject({ valid: true, claims: { notBeforeTime: new Date(nbf * 1000) } });
      expect((await getRoomAs(token)).room!.id).toBe(roomId);
    });
  });

  it('refuses nbf 7-8 s ahead as NOT_YET_VALID', async () => {
    const token = await sign(Math.ceil(Date.now() / 1000) + TOLERANCE + 2, 3600); // refused until nbf - 5 >= now + 2
    await unchanged(async () => {
      expect(await verify(token)).toEqual({ valid: false, reason: reason('NOT_YET_VALID'), claims: undefined });
      expect((await expectStatus(getRoomAs(token), status.UNAUTHENTICATED)).details).toBe(REJECTED);
    });
  });

  it('checks the signature before exp: an expired token with one flipped signature bit is BAD_SIGNATURE', async () => {
    const token = flipSignatureBit(await sign(Math.floor(Date.now() / 1000) - 3600));
    await unchanged(async () => {
      expect(await verify(token)).toEqual({ valid: false, reason: reason('BAD_SIGNATURE'), claims: undefined });
      expect((await expectStatus(getRoomAs(token), status.UNAUTHENTICATED)).details).toBe(REJECTED);
    });
  });
});

describe('real peer tokens used beyond their grant', () => {
  it('for another room: PERMISSION_DENIED', async () => {
    await unchanged(() => expectStatus(t.client.rooms.getRoom({ roomId: otherRoomId }, as(victim.token)), status.PERMISSION_DENIED, /own room/));
  });

  it('for another peer: PERMISSION_DENIED', async () => {
    await unchanged(() =>
      expectStatus(
        t.client.peers.updatePeerMetadata({ roomId, peerId: neighbour.id, clientMetadata: '{"hijacked":true}' }, as(victim.token)),
        status.PERMISSION_DENIED,
        /only its own peer metadata/,
      ),
    );
  });

  it('of another environment: WRONG_ENVIRONMENT to VerifyPeerToken; as bearer, PERMISSION_DENIED alike for a sandbox room and a missing one', async () => {
    await unchanged(async () => {
      expect(await verify(live.token)).toEqual({ valid: false, reason: reason('WRONG_ENVIRONMENT'), claims: undefined });
      // The production peer authenticates into production; the sandbox room is
      // not its room. Refused before any lookup, so it learns nothing about it.
      const existing = await expectStatus(getRoomAs(live.token), status.PERMISSION_DENIED, /^a peer token gives access to its own room only$/);
      const missing = await expectStatus(t.client.rooms.getRoom({ roomId: randomUUID() }, as(live.token)), status.PERMISSION_DENIED);
      expect(missing.details).toBe(existing.details);
    });
  });

  it('of a deleted peer: REVOKED, and UNAUTHENTICATED as bearer', async () => {
    const doomed = await createPeer(roomId);
    await t.client.peers.deletePeer({ roomId, peerId: doomed.id }, as(admin));
    await unchanged(async () => {
      expect(await verify(doomed.token)).toEqual({ valid: false, reason: reason('REVOKED'), claims: undefined });
      expect((await expectStatus(getRoomAs(doomed.token), status.UNAUTHENTICATED)).details).toBe(REJECTED);
      expect((await expectStatus(t.client.tokens.refreshPeerToken({}, as(doomed.token)), status.UNAUTHENTICATED)).details).toBe(REJECTED);
    });
  });
});

describe('bad management credentials and authorization metadata', () => {
  const cases: { name: string; authorization: () => string; details: RegExp | string }[] = [
    { name: 'one checksum character changed', authorization: () => `Bearer ${oneCharOff(admin, admin.length - 1)}`, details: REJECTED },
    { name: 'one body character changed', authorization: () => `Bearer ${oneCharOff(admin, 20)}`, details: REJECTED },
    { name: 'truncated by one character', authorization: () => `Bearer ${admin.slice(0, -1)}`, details: REJECTED },
    { name: "prefix rg_test_ with a valid checksum", authorization: () => `Bearer ${withManagementChecksum('rg_test_', admin.slice(11, 54))}`, details: REJECTED },
    { name: 'prefix RG_LIVE_', authorization: () => `Bearer RG_LIVE_${admin.slice(11)}`, details: REJECTED },
    {
      name: 'sandbox body relabelled rg_live_ with a recomputed checksum',
      authorization: () => `Bearer ${withManagementChecksum('rg_live_', admin.slice(11, 54))}`,
      details: REJECTED,
    },
    { name: 'well-formed but never issued', authorization: () => `Bearer ${mintManagementToken('sandbox').token}`, details: REJECTED },
    { name: 'revoked', authorization: () => `Bearer ${revoked}`, details: REJECTED },
    { name: "lower-case 'bearer' and a never-issued token", authorization: () => `bearer ${mintManagementToken('sandbox').token}`, details: REJECTED },
    { name: "'Bearer' and no token", authorization: () => 'Bearer', details: NOT_BEARER },
    { name: "'Basic' credentials", authorization: () => `Basic ${Buffer.from('admin:admin').toString('base64')}`, details: NOT_BEARER },
    { name: "'Bearer' and two spaces", authorization: () => `Bearer  ${admin}`, details: NOT_BEARER },
    { name: 'two credentials joined by a comma', authorization: () => `Bearer ${admin}, Bearer ${revoked}`, details: NOT_BEARER },
    // HTTP/2 drops a field value with leading or trailing whitespace, so the server sees no header at all.
    { name: "'Bearer ' with a trailing space", authorization: () => 'Bearer ', details: /^missing credentials/ },
    { name: 'an empty value', authorization: () => '', details: /^missing credentials/ },
    { name: 'a 64 KB value', authorization: () => `Bearer ${'A'.repeat(64 * 1024)}`, details: TOO_LONG },
  ];

  it.each(cases)('$name: UNAUTHENTICATED', async ({ authorization, details }) => {
    await unchanged(async () => {
      const err = await expectStatus(getRoomWith(authorization()), status.UNAUTHENTICATED);
      if (typeof details === 'string') expect(err.details).toBe(details);
      else expect(err.details).toMatch(details);
    });
  });

  it('an expired management token: UNAUTHENTICATED once its expire_time passes', async () => {
    await sleep(Math.max(0, expiring.expiresAt.getTime() - Date.now() + 250));
    await unchanged(async () => expect((await expectStatus(getRoomAs(expiring.token), status.UNAUTHENTICATED)).details).toBe(REJECTED));
  });

  it("accepts the scheme in lower case ('bearer'), as RFC 7235 makes it case-insensitive", async () => {
    await unchanged(async () => expect((await getRoomWith(`bearer ${admin}`)).room!.id).toBe(roomId));
  });

  it('two authorization headers never leave the client: grpc-js fails the call INTERNAL and the server logs no call', async () => {
    const logged = t.logs.length;
    await unchanged(() => expectStatus(getRoomWith(`Bearer ${revoked}`, `Bearer ${admin}`), status.INTERNAL, /"authorization" metadata cannot have multiple values/));
    expect(t.logs.length).toBe(logged);
  });

  it('a 1 MB value is reset by HTTP/2 before roomgate sees it (INTERNAL on the client), and the server keeps serving', async () => {
    const logged = t.logs.length;
    await unchanged(() => expectStatus(getRoomWith(`Bearer ${'A'.repeat(1 << 20)}`), status.INTERNAL, /RST_STREAM/));
    expect(t.logs.length).toBe(logged);
    expect((await getRoomAs(admin)).room!.id).toBe(roomId);
  });
});

const TEN_KB = 'x'.repeat(10_240);
const overflowingPageToken = b64url('v1.9999999999999999999'); // 19 digits, above the largest bigint
const at = (n: number) => 'a'.repeat(n);

describe('malicious and out-of-range request fields: INVALID_ARGUMENT naming the field', () => {
  const c = () => t.client;
  const cases: { name: string; call: () => Promise<unknown>; field: string }[] = [
    { name: 'CreateRoom name of 65 characters', call: () => c().rooms.createRoom({ name: at(65) }, as(admin)), field: 'name' },
    { name: 'CreateRoom name ../etc', call: () => c().rooms.createRoom({ name: '../etc' }, as(admin)), field: 'name' },
    { name: 'CreateRoom name with NUL', call: () => c().rooms.createRoom({ name: 'room\u0000' }, as(admin)), field: 'name' },
    { name: 'CreateRoom max_peers 2^32-1', call: () => c().rooms.createRoom({ maxPeers: 4_294_967_295 }, as(admin)), field: 'max_peers' },
    { name: 'CreateRoom metadata of 4097 bytes', call: () => c().rooms.createRoom({ metadata: `"${at(4095)}"` }, as(admin)), field: 'metadata' },
    { name: "CreateRoom metadata '{'", call: () => c().rooms.createRoom({ metadata: '{' }, as(admin)), field: 'metadata' },
    { name: "CreateRoom metadata 'NaN'", call: () => c().rooms.createRoom({ metadata: 'NaN' }, as(admin)), field: 'metadata' },
    { name: "CreateRoom metadata 'undefined'", call: () => c().rooms.createRoom({ metadata: 'undefined' }, as(admin)), field: 'metadata' },
    { name: 'CreateRoom metadata with trailing garbage', call: () => c().rooms.createRoom({ metadata: '{"a":1} x' }, as(admin)), field: 'metadata' },
    { name: 'CreateRoom request_id with spaces', call: () => c().rooms.createRoom({ requestId: 'retry 1' }, as(admin)), field: 'request_id' },
    { name: 'CreateRoom request_id of 129 characters', call: () => c().rooms.createRoom({ requestId: at(129) }, as(admin)), field: 'request_id' },
    { name: 'CreateRoom request_id not ASCII', call: () => c().rooms.createRoom({ requestId: 'café' }, as(admin)), field: 'request_id' },
    { name: 'CreatePeer identity of 129 characters', call: () => c().peers.createPeer({ roomId, identity: at(129) }, as(admin)), field: 'identity' },
    { name: 'CreatePeer name of 129 characters', call: () => c().peers.createPeer({ roomId, name: at(129) }, as(admin)), field: 'name' },
    { name: 'CreatePeer identity with NUL', call: () => c().peers.createPeer({ roomId, identity: 'a\u0000b' }, as(admin)), field: 'identity' },
    { name: 'CreatePeer identity with an ANSI escape', call: () => c().peers.createPeer({ roomId, identity: '\u001b[31mred' }, as(admin)), field: 'identity' },
    { name: 'CreatePeer name with a C1 control (NEL)', call: () => c().peers.createPeer({ roomId, name: 'a\u0085b' }, as(admin)), field: 'name' },
    { name: 'CreatePeer name with a newline (log injection)', call: () => c().peers.createPeer({ roomId, name: 'x\n{"level":60}' }, as(admin)), field: 'name' },
    { name: 'CreatePeer metadata of 4097 bytes', call: () => c().peers.createPeer({ roomId, metadata: `"${at(4095)}"` }, as(admin)), field: 'metadata' },
    { name: "CreatePeer metadata 'NaN'", call: () => c().peers.createPeer({ roomId, metadata: 'NaN' }, as(admin)), field: 'metadata' },
    { name: 'CreatePeer token_ttl_seconds 59', call: () => c().peers.createPeer({ roomId, tokenTtlSeconds: 59 }, as(admin)), field: 'token_ttl_seconds' },
    { name: 'CreatePeer token_ttl_seconds 86401', call: () => c().peers.createPeer({ roomId, tokenTtlSeconds: 86_401 }, as(admin)), field: 'token_ttl_seconds' },
    { name: 'CreatePeer request_id of 129 characters', call: () => c().peers.createPeer({ roomId, requestId: at(129) }, as(admin)), field: 'request_id' },
    { name: 'CreatePeer room_id ../../etc/passwd', call: () => c().peers.createPeer({ roomId: '../../etc/passwd' }, as(admin)), field: 'room_id' },
    {
      name: 'UpdatePeerMetadata client_metadata of 4097 bytes',
      call: () => c().peers.updatePeerMetadata({ roomId, peerId: victim.id, clientMetadata: `"${at(4095)}"` }, as(victim.token)),
      field: 'client_metadata',
    },
    {
      name: 'UpdatePeerMetadata client_metadata with trailing garbage',
      call: () => c().peers.updatePeerMetadata({ roomId, peerId: victim.id, clientMetadata: '{}}' }, as(admin)),
      field: 'client_metadata',
    },
    { name: 'UpdateRoom metadata of 4097 bytes', call: () => c().rooms.updateRoom({ roomId, metadata: `"${at(4095)}"` }, as(admin)), field: 'metadata' },
    { name: 'UpdateRoom max_peers 2^32-1', call: () => c().rooms.updateRoom({ roomId, maxPeers: 4_294_967_295 }, as(admin)), field: 'max_peers' },
    { name: "GetRoom room_id ' OR '1'='1", call: () => c().rooms.getRoom({ roomId: "' OR '1'='1" }, as(admin)), field: 'room_id' },
    { name: 'GetRoom room_id of 10 KB', call: () => c().rooms.getRoom({ roomId: TEN_KB }, as(admin)), field: 'room_id' },
    { name: 'GetRoom room_id in upper case', call: () => c().rooms.getRoom({ roomId: roomId.toUpperCase() }, as(admin)), field: 'room_id' },
    { name: 'GetRoom room_id with a trailing newline', call: () => c().rooms.getRoom({ roomId: `${roomId}\n` }, as(admin)), field: 'room_id' },
    { name: "GetPeer peer_id '; DROP TABLE peers; --", call: () => c().peers.getPeer({ roomId, peerId: "'; DROP TABLE peers; --" }, as(admin)), field: 'peer_id' },
    { name: "DeleteRoom room_id '; DROP TABLE rooms; --", call: () => c().rooms.deleteRoom({ roomId: "'; DROP TABLE rooms; --" }, as(admin)), field: 'room_id' },
    { name: 'DeletePeer peer_id %00', call: () => c().peers.deletePeer({ roomId, peerId: '%00' }, as(admin)), field: 'peer_id' },
    { name: 'ListRooms page_size 101', call: () => c().rooms.listRooms({ pageSize: 101 }, as(admin)), field: 'page_size' },
    { name: 'ListRooms page_token garbage', call: () => c().rooms.listRooms({ pageToken: '!!garbage!!' }, as(admin)), field: 'page_token' },
    { name: 'ListRooms page_token of 10 KB', call: () => c().rooms.listRooms({ pageToken: TEN_KB }, as(admin)), field: 'page_token' },
    { name: 'ListRooms page_token with SQL', call: () => c().rooms.listRooms({ pageToken: b64url('v1.1 OR 1=1') }, as(admin)), field: 'page_token' },
    { name: 'ListRooms page_token of 20 digits', call: () => c().rooms.listRooms({ pageToken: b64url('v1.99999999999999999999') }, as(admin)), field: 'page_token' },
    { name: 'ListRooms page_token above the largest bigint', call: () => c().rooms.listRooms({ pageToken: overflowingPageToken }, as(admin)), field: 'page_token' },
    { name: 'ListPeers page_size 101', call: () => c().peers.listPeers({ roomId, pageSize: 101 }, as(admin)), field: 'page_size' },
    { name: 'ListPeers page_token above the largest bigint', call: () => c().peers.listPeers({ roomId, pageToken: overflowingPageToken }, as(admin)), field: 'page_token' },
    { name: 'ListManagementTokens page_size 101', call: () => c().tokens.listManagementTokens({ pageSize: 101 }, as(admin)), field: 'page_size' },
    {
      name: 'ListManagementTokens page_token above the largest bigint',
      call: () => c().tokens.listManagementTokens({ pageToken: overflowingPageToken }, as(admin)),
      field: 'page_token',
    },
    {
      name: 'IssuePeerToken token_ttl_seconds 86401',
      call: () => c().tokens.issuePeerToken({ roomId, peerId: victim.id, tokenTtlSeconds: 86_401 }, as(admin)),
      field: 'token_ttl_seconds',
    },
    { name: "IssuePeerToken peer_id ' OR '1'='1", call: () => c().tokens.issuePeerToken({ roomId, peerId: "' OR '1'='1" }, as(admin)), field: 'peer_id' },
    { name: 'RefreshPeerToken token_ttl_seconds 59', call: () => c().tokens.refreshPeerToken({ tokenTtlSeconds: 59 }, as(victim.token)), field: 'token_ttl_seconds' },
    { name: 'RefreshPeerToken token_ttl_seconds 86401', call: () => c().tokens.refreshPeerToken({ tokenTtlSeconds: 86_401 }, as(victim.token)), field: 'token_ttl_seconds' },
    {
      name: "VerifyPeerToken room_id ' OR 1=1 --",
      call: () => c().tokens.verifyPeerToken({ token: victim.token, roomId: "' OR 1=1 --" }, as(admin)),
      field: 'room_id',
    },
    { name: 'VerifyPeerToken token empty', call: () => c().tokens.verifyPeerToken({ token: '' }, as(admin)), field: 'token' },
    {
      name: 'CreateManagementToken name of 129 characters',
      call: () => c().tokens.createManagementToken({ name: at(129), scopes: [ManagementScope.MANAGEMENT_SCOPE_READ] }, as(admin)),
      field: 'name',
    },
    {
      name: 'CreateManagementToken name with a control character',
      call: () => c().tokens.createManagementToken({ name: 'ci\u0007', scopes: [ManagementScope.MANAGEMENT_SCOPE_READ] }, as(admin)),
      field: 'name',
    },
    { name: 'CreateManagementToken an unknown scope', call: () => c().tokens.createManagementToken({ name: 'x', scopes: [99 as ManagementScope] }, as(admin)), field: 'scopes' },
    {
      name: 'CreateManagementToken expire_time in the past',
      call: () => c().tokens.createManagementToken({ name: 'x', scopes: [ManagementScope.MANAGEMENT_SCOPE_READ], expireTime: new Date(Date.now() - 60_000) }, as(admin)),
      field: 'expire_time',
    },
    { name: "RevokeManagementToken id ' OR 1=1 --", call: () => c().tokens.revokeManagementToken({ id: "' OR 1=1 --" }, as(admin)), field: 'id' },
    {
      name: 'RevokeManagementToken grace_seconds above 30 days',
      call: () => c().tokens.revokeManagementToken({ id: randomUUID(), graceSeconds: 30 * 86_400 + 1 }, as(admin)),
      field: 'grace_seconds',
    },
    { name: 'UpdatePeer without permissions', call: () => c().peers.updatePeer({ roomId, peerId: victim.id }, as(admin)), field: 'permissions' },
  ];

  it.each(cases)('$name', async ({ call, field }) => {
    await unchanged(() => expectStatus(call(), status.INVALID_ARGUMENT, new RegExp(`^${field}: `)));
  });
});

describe('bytes no well-behaved client sends', () => {
  /** Calls CreatePeer with a hand-encoded request body. */
  const rawCreatePeer = (body: Buffer) =>
    new Promise<CreatePeerResponse>((resolve, reject) => {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${admin}`);
      const deserialize = (b: Buffer) => CreatePeerResponse.decode(b);
      raw.makeUnaryRequest('/roomgate.v1.PeerService/CreatePeer', (b: Buffer) => b, deserialize, body, metadata, { deadline: Date.now() + 10_000 }, (err, res) =>
        err ? reject(err) : resolve(res!),
      );
    });
  /** CreatePeerRequest for the test room with string field `field` set to raw `bytes` (appended; the last occurrence wins). */
  const createPeerWith = (field: number, bytes: number[]) =>
    Buffer.concat([Buffer.from(CreatePeerRequest.encode(CreatePeerRequest.fromPartial({ roomId })).finish()), Buffer.from([(field << 3) | 2, bytes.length, ...bytes])]);

  // A TypeScript client cannot send these: TextEncoder turns a lone surrogate
  // into U+FFFD before it leaves. Another client (or a hand-made request) can.
  it.each([
    { name: 'a lone surrogate (U+D800 as CESU-8 bytes ED A0 80) in identity', field: 2, bytes: [0x61, 0xed, 0xa0, 0x80], fieldName: 'identity' },
    { name: 'an invalid UTF-8 byte (FF) in name', field: 3, bytes: [0x61, 0xff, 0x62], fieldName: 'name' },
  ])('$name: INVALID_ARGUMENT, nothing stored', async ({ field, bytes, fieldName }) => {
    await unchanged(() =>
      expectStatus(rawCreatePeer(createPeerWith(field, bytes)), status.INVALID_ARGUMENT, new RegExp(`^${fieldName}: `)),
    );
  });

  it('a request body that is not protobuf: INTERNAL from grpc-js, as the gRPC status-code table prescribes for a request that does not parse', async () => {
    await unchanged(() => expectStatus(rawCreatePeer(Buffer.from([0x0a, 0xff, 0xff, 0xff])), status.INTERNAL, /^Error deserializing request/));
  });

  it('a 5 MB token to VerifyPeerToken: RESOURCE_EXHAUSTED from grpc-js (4 MB receive limit)', async () => {
    await unchanged(() => expectStatus(verify('e'.repeat(5 << 20)), status.RESOURCE_EXHAUSTED, /larger than max/));
  });
});

describe('after all of that', () => {
  it('the server still answers normal calls, and logged no token', async () => {
    expect((await t.client.rooms.getRoom({ roomId }, as(admin))).room).toMatchObject({ id: roomId, name: 'hostile' });
    expect((await verify(victim.token)).valid).toBe(true);
    const { peerToken } = await t.client.tokens.refreshPeerToken({}, as(victim.token));
    expect((await verify(peerToken)).valid).toBe(true);
    const logs = t.logs.join('');
    for (const secret of [admin, revoked, victim.token.split('.')[2]!]) expect(logs).not.toContain(secret);
  });
});
