import { status } from '@grpc/grpc-js';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenInvalidReason as R } from '../../src/client/index.js';
import { ManualClock } from '../../src/domain/clock.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { PEER_TOKEN_TYPE, PeerTokens } from '../../src/domain/peer-token.js';
import { SigningKeyRing } from '../../src/domain/signing-keys.js';
import { PgSigningKeyStore } from '../../src/store/signing-key-store.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let token: string;

beforeAll(async () => {
  t = await startTestRoomgate();
  token = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

async function peerIn(roomId?: string) {
  const room = roomId ?? (await t.client.rooms.createRoom({}, { token })).room!.id;
  const res = await t.client.peers.createPeer({ roomId: room, identity: `p-${Math.random()}`, permissions: { canPublish: true } }, { token });
  return { roomId: room, peerId: res.peer!.id, peerToken: res.peerToken };
}

/** Signs tokens with the server's real key, from the database, at another time. */
async function signerAt(when: Date) {
  const clock = new ManualClock(when);
  const ring = new SigningKeyRing(new PgSigningKeyStore(t.db.pool), new KeyEncryptor(t.config.keyEncryptionKey!), clock);
  await ring.init();
  return new PeerTokens(ring, clock, { issuer: t.config.issuer, clockToleranceSeconds: 5 });
}

describe('VerifyPeerToken', () => {
  it('accepts a live token and returns its claims', async () => {
    const p = await peerIn();
    const res = await t.client.tokens.verifyPeerToken({ token: p.peerToken, roomId: p.roomId }, { token });
    expect(res.valid).toBe(true);
    expect(res.reason).toBe(R.TOKEN_INVALID_REASON_UNSPECIFIED);
    expect(res.claims).toMatchObject({ peerId: p.peerId, roomId: p.roomId, issuer: 'roomgate', permissions: { canPublish: true, canSubscribe: false } });
  });

  it('says WRONG_ROOM for a token of another room than asked', async () => {
    const p = await peerIn();
    const other = await peerIn();
    const res = await t.client.tokens.verifyPeerToken({ token: p.peerToken, roomId: other.roomId }, { token });
    expect(res).toMatchObject({ valid: false, reason: R.TOKEN_INVALID_REASON_WRONG_ROOM, claims: undefined });
  });

  it('says WRONG_ENVIRONMENT to a caller of the other environment', async () => {
    const p = await peerIn();
    const live = await t.managementToken('production');
    const res = await t.client.tokens.verifyPeerToken({ token: p.peerToken }, { token: live });
    expect(res).toMatchObject({ valid: false, reason: R.TOKEN_INVALID_REASON_WRONG_ENVIRONMENT });
    // Still WRONG_ENVIRONMENT, not REVOKED, once the peer is gone: the other
    // environment learns nothing about this one's peers.
    await t.client.peers.deletePeer({ roomId: p.roomId, peerId: p.peerId }, { token });
    expect(await t.client.tokens.verifyPeerToken({ token: p.peerToken }, { token: live })).toMatchObject({
      valid: false,
      reason: R.TOKEN_INVALID_REASON_WRONG_ENVIRONMENT,
    });
  });

  it('says REVOKED after DeletePeer', async () => {
    const p = await peerIn();
    await t.client.peers.deletePeer({ roomId: p.roomId, peerId: p.peerId }, { token });
    expect(await t.client.tokens.verifyPeerToken({ token: p.peerToken }, { token })).toMatchObject({
      valid: false,
      reason: R.TOKEN_INVALID_REASON_REVOKED,
    });
  });

  it('says EXPIRED for a real token past exp, and BAD_SIGNATURE before EXPIRED for a forged one', async () => {
    const p = await peerIn();
    const past = await signerAt(new Date(Date.now() - 2 * 3600_000));
    const subject = { environment: 'sandbox' as const, roomId: p.roomId, peerId: p.peerId, identity: 'x', name: '', metadata: '{}', permissions: { canPublish: false, canSubscribe: false, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false }, generation: 1 };
    const expired = await past.sign(subject, past.stamp(60));
    expect(await t.client.tokens.verifyPeerToken({ token: expired }, { token })).toMatchObject({ valid: false, reason: R.TOKEN_INVALID_REASON_EXPIRED });
    const flipped = expired.slice(0, -2) + (expired.at(-2) === 'A' ? 'B' : 'A') + expired.at(-1);
    expect(await t.client.tokens.verifyPeerToken({ token: flipped }, { token })).toMatchObject({ valid: false, reason: R.TOKEN_INVALID_REASON_BAD_SIGNATURE });
  });

  it('says MALFORMED for junk and needs a token', async () => {
    expect(await t.client.tokens.verifyPeerToken({ token: 'not.a.jwt' }, { token })).toMatchObject({ valid: false, reason: R.TOKEN_INVALID_REASON_MALFORMED });
    await expectStatus(t.client.tokens.verifyPeerToken({ token: '' }, { token }), status.INVALID_ARGUMENT, /^token: is required/);
    await expectStatus(t.client.tokens.verifyPeerToken({ token: 'x', roomId: 'bad' }, { token }), status.INVALID_ARGUMENT, /^room_id:/);
  });
});

describe('RefreshPeerToken', () => {
  it('gives the calling peer a fresh token with the requested lifetime', async () => {
    const p = await peerIn();
    const res = await t.client.tokens.refreshPeerToken({ tokenTtlSeconds: 120 }, { token: p.peerToken });
    const claims = decodeJwt(res.peerToken);
    expect(claims).toMatchObject({ sub: p.peerId, room: p.roomId });
    expect(claims.exp! - claims.iat!).toBe(120);
    expect(claims.jti).not.toBe(decodeJwt(p.peerToken).jti);
    expect((await t.client.tokens.verifyPeerToken({ token: res.peerToken }, { token })).valid).toBe(true);
    await expectStatus(t.client.tokens.refreshPeerToken({ tokenTtlSeconds: 5 }, { token: p.peerToken }), status.INVALID_ARGUMENT, /^token_ttl_seconds:/);
  });

  it('stops working once the peer is deleted', async () => {
    const p = await peerIn();
    await t.client.peers.deletePeer({ roomId: p.roomId, peerId: p.peerId }, { token });
    await expectStatus(t.client.tokens.refreshPeerToken({}, { token: p.peerToken }), status.UNAUTHENTICATED);
  });

  it('is refused to management tokens', async () => {
    await expectStatus(t.client.tokens.refreshPeerToken({}, { token }), status.PERMISSION_DENIED, /peer token/);
  });
});

describe('GetJwks', () => {
  it('needs no authentication and verifies peer tokens offline', async () => {
    const p = await peerIn();
    const { jwksJson } = await t.client.tokens.getJwks({});
    const jwks = JSON.parse(jwksJson) as { keys: { kty: string; crv: string; kid: string; alg: string; d?: string }[] };
    expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
    const { payload, protectedHeader } = await jwtVerify(p.peerToken, createLocalJWKSet(jwks as never), {
      algorithms: ['EdDSA'],
      issuer: 'roomgate',
      audience: 'roomgate:sandbox',
      typ: PEER_TOKEN_TYPE,
    });
    expect(payload.sub).toBe(p.peerId);
    expect(protectedHeader.kid).toBe(jwks.keys[0]!.kid);
  });
});
