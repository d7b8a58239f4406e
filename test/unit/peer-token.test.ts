import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { base64url, decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { PEER_TOKEN_TYPE, PeerTokens, type PeerTokenSubject } from '../../src/domain/peer-token.js';
import { SigningKeyRing } from '../../src/domain/signing-keys.js';
import { MemorySigningKeyStore } from '../support/fakes/index.js';

const T0 = new Date('2026-11-25T12:00:00Z');
const subject: PeerTokenSubject = {
  environment: 'sandbox',
  roomId: randomUUID(),
  peerId: randomUUID(),
  identity: 'user-123',
  name: 'John Doe',
  metadata: '{"role":"host"}',
  permissions: { canPublish: true, canSubscribe: true, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: true },
  generation: 1,
};

async function setup() {
  const clock = new ManualClock(T0);
  const store = new MemorySigningKeyStore();
  const encryptor = new KeyEncryptor(randomBytes(32));
  const ring = new SigningKeyRing(store, encryptor, clock);
  await ring.init();
  const tokens = new PeerTokens(ring, clock, { issuer: 'roomgate-test', clockToleranceSeconds: 5 });
  return { clock, store, encryptor, ring, tokens };
}

describe('peer tokens', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    s = await setup();
  });

  it('are EdDSA JWTs with kid, a peer-specific typ and every required claim', async () => {
    const token = await s.tokens.sign(subject, s.tokens.stamp(3600));
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg: 'EdDSA', kid: s.ring.current().kid, typ: PEER_TOKEN_TYPE });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: 'roomgate-test',
      aud: 'roomgate:sandbox',
      sub: subject.peerId,
      room: subject.roomId,
      identity: 'user-123',
      name: 'John Doe',
      metadata: '{"role":"host"}',
      permissions: subject.permissions,
      iat: T0.getTime() / 1000,
      nbf: T0.getTime() / 1000,
      exp: T0.getTime() / 1000 + 3600,
    });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('verify and return the claims', async () => {
    const token = await s.tokens.sign(subject, s.tokens.stamp(3600));
    const result = await s.tokens.check(token);
    expect(result.valid).toBe(true);
    if (result.valid) {
      expect(result.claims).toMatchObject({ ...subject, issuer: 'roomgate-test', keyId: s.ring.current().kid });
      expect(result.claims.expiresAt).toEqual(new Date(T0.getTime() + 3600_000));
    }
  });

  it('sign identically twice from the same stamp (idempotent replays)', async () => {
    const stamp = s.tokens.stamp(600);
    expect(await s.tokens.sign(subject, stamp)).toBe(await s.tokens.sign(subject, stamp));
  });

  it("are byte for byte what jose's SignJWT makes of the same claims, so replays stay identical across versions", async () => {
    const stamp = s.tokens.stamp(600);
    const token = await s.tokens.sign(subject, stamp);
    const viaJose = await new SignJWT({
      room: subject.roomId,
      identity: subject.identity,
      name: subject.name,
      metadata: subject.metadata,
      permissions: { ...subject.permissions },
      gen: subject.generation,
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: stamp.kid, typ: PEER_TOKEN_TYPE })
      .setIssuer('roomgate-test')
      .setAudience('roomgate:sandbox')
      .setSubject(subject.peerId)
      .setIssuedAt(stamp.issuedAt)
      .setNotBefore(stamp.issuedAt)
      .setExpirationTime(stamp.expiresAt)
      .setJti(stamp.jti)
      .sign(s.ring.privateKey(stamp.kid)!);
    expect(token).toBe(viaJose);
  });

  it('expire after exp plus the clock tolerance, not before', async () => {
    const token = await s.tokens.sign(subject, s.tokens.stamp(60));
    s.clock.advance(64);
    expect((await s.tokens.check(token)).valid).toBe(true);
    s.clock.advance(2);
    expect(await s.tokens.check(token)).toEqual({ valid: false, reason: 'EXPIRED' });
  });

  it('are not valid before nbf minus the tolerance', async () => {
    const token = await s.tokens.sign(subject, s.tokens.stamp(60));
    s.clock.advance(-4);
    expect((await s.tokens.check(token)).valid).toBe(true);
    s.clock.advance(-2);
    expect(await s.tokens.check(token)).toEqual({ valid: false, reason: 'NOT_YET_VALID' });
  });

  it('reject a flipped signature bit, even on an expired token (signature first)', async () => {
    const token = await s.tokens.sign(subject, s.tokens.stamp(60));
    const [h, p, sig] = token.split('.') as [string, string, string];
    const bytes = base64url.decode(sig);
    bytes[0] = (bytes[0] as number) ^ 1;
    const forged = `${h}.${p}.${base64url.encode(bytes)}`;
    expect(await s.tokens.check(forged)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
    s.clock.advance(3600);
    expect(await s.tokens.check(forged)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
  });

  it('reject alg none, HS256 with the public key bytes, a wrong typ, an unknown kid and a wrong issuer', async () => {
    const valid = decodeJwt(await s.tokens.sign(subject, s.tokens.stamp(60)));
    const unsecured = new UnsecuredJWT(valid).encode();
    expect(await s.tokens.check(unsecured)).toEqual({ valid: false, reason: 'MALFORMED' });

    const jwk = s.ring.jwks().keys[0] as { x: string; kid: string };
    const hs = await new SignJWT(valid)
      .setProtectedHeader({ alg: 'HS256', kid: jwk.kid, typ: PEER_TOKEN_TYPE })
      .sign(base64url.decode(jwk.x));
    expect(await s.tokens.check(hs)).toEqual({ valid: false, reason: 'MALFORMED' });

    const { privateKey, kid } = s.ring.current();
    const wrongTyp = await new SignJWT(valid).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' }).sign(privateKey);
    expect(await s.tokens.check(wrongTyp)).toEqual({ valid: false, reason: 'MALFORMED' });

    const unknownKid = await new SignJWT(valid)
      .setProtectedHeader({ alg: 'EdDSA', kid: 'nope', typ: PEER_TOKEN_TYPE })
      .sign(privateKey);
    expect(await s.tokens.check(unknownKid)).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });

    const wrongIss = await new SignJWT({ ...valid, iss: 'someone-else' })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: PEER_TOKEN_TYPE })
      .sign(privateKey);
    expect(await s.tokens.check(wrongIss)).toEqual({ valid: false, reason: 'WRONG_ISSUER' });
  });

  it('reject signed tokens missing exp or with malformed claims', async () => {
    const { privateKey, kid } = s.ring.current();
    const valid = decodeJwt(await s.tokens.sign(subject, s.tokens.stamp(60)));
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid, typ: PEER_TOKEN_TYPE }).sign(privateKey);
    const { exp: _exp, ...noExp } = valid;
    expect(await s.tokens.check(await sign(noExp))).toEqual({ valid: false, reason: 'MALFORMED' });
    expect(await s.tokens.check(await sign({ ...valid, aud: 'roomgate:staging' }))).toEqual({ valid: false, reason: 'MALFORMED' });
    expect(await s.tokens.check(await sign({ ...valid, room: 'not-a-uuid' }))).toEqual({ valid: false, reason: 'MALFORMED' });
    expect(await s.tokens.check(await sign({ ...valid, permissions: { canPublish: 'yes' } }))).toEqual({
      valid: false,
      reason: 'MALFORMED',
    });
  });

  it('accept exactly one spelling: altered unused trailing bits of any segment are MALFORMED', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // Identities of three lengths: one of them leaves the payload's length not a multiple of 3 bytes.
    let altered = 0;
    for (const identity of ['a', 'ab', 'abc']) {
      const token = await s.tokens.sign({ ...subject, identity }, s.tokens.stamp(600));
      expect((await s.tokens.check(token)).valid).toBe(true);
      const segments = token.split('.');
      for (let i = 0; i < 3; i++) {
        const segment = segments[i] as string;
        const bytes = Buffer.from(segment, 'base64url');
        for (const c of alphabet) {
          const variant = segment.slice(0, -1) + c;
          // Only spellings that decode to the very same bytes: the aliases a lenient decoder accepts.
          if (variant === segment || !Buffer.from(variant, 'base64url').equals(bytes)) continue;
          const forged = segments.map((x, j) => (j === i ? variant : x)).join('.');
          expect(await s.tokens.check(forged), `segment ${i}, last character ${c}`).toEqual({ valid: false, reason: 'MALFORMED' });
          altered++;
        }
      }
    }
    // A 64-byte Ed25519 signature leaves 4 unused bits: 15 aliases per token, 45 over three tokens, plus the payloads'.
    expect(altered).toBeGreaterThan(45);
  });

  it('reject garbage', async () => {
    for (const junk of ['', 'a.b.c', 'not a jwt', '..', 'eyJ.eyJ.sig']) {
      expect(await s.tokens.check(junk)).toEqual({ valid: false, reason: 'MALFORMED' });
    }
  });

  it('verify tokens signed with a key another instance added after this one loaded', async () => {
    // Another instance activates a newer key in the shared store...
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const kid = 'newer-key';
    s.store.records.push({
      kid,
      algorithm: 'EdDSA',
      publicJwk: { ...(publicKey.export({ format: 'jwk' }) as object), kid, alg: 'EdDSA', use: 'sig' },
      privateKeyEncrypted: s.encryptor.encrypt(Buffer.from(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string), kid),
      // Activated at the same instant as the first key but created later: it wins the tie.
      createdAt: new Date(Date.now() + 60_000),
      activatedAt: s.clock.now(),
      retiredAt: null,
    });
    const otherRing = new SigningKeyRing(s.store, s.encryptor, s.clock);
    await otherRing.init();
    expect(otherRing.current().kid).toBe(kid);
    const otherTokens = new PeerTokens(otherRing, s.clock, { issuer: 'roomgate-test', clockToleranceSeconds: 5 });
    const token = await otherTokens.sign(subject, otherTokens.stamp(60));
    // ...and this instance, which never saw that kid, reloads and verifies.
    expect(s.ring.jwks().keys.map((k) => k.kid)).not.toContain(kid);
    expect((await s.tokens.check(token)).valid).toBe(true);
    expect(s.ring.jwks().keys.map((k) => k.kid)).toContain(kid);
  });

  it('refuse to load keys under a different key-encryption key', async () => {
    const wrong = new SigningKeyRing(s.store, new KeyEncryptor(randomBytes(32)), s.clock);
    await expect(wrong.init()).rejects.toMatchObject({ code: 'ERR_KEY_DECRYPTION_FAILED' });
  });
});
