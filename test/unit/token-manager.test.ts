import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Principal, Scope } from '../../src/domain/principal.js';
import {
  ALL_PERMISSIONS,
  buildDomain,
  createPeer,
  createRoom,
  management,
  peerPrincipal,
  T0,
  T0_SECONDS,
  TOLERANCE,
} from '../support/fakes/index.js';

async function withPeer(options: Parameters<typeof buildDomain>[0] = {}) {
  const d = await buildDomain(options);
  const room = await createRoom(d);
  const created = await createPeer(d, room.id, { identity: 'alice', permissions: { ...ALL_PERMISSIONS, canUpdateRoom: false } });
  return { d, room, ...created };
}

const verifier = management(['verify']);
const SESSION = 7 * 86_400;

describe('TokenManager.verify', () => {
  it('is allowed to the verify scope and admin only, never to a peer token', async () => {
    const { d, room, peer, token } = await withPeer();
    const callers: Array<[string, Principal, boolean]> = [
      ['verify', management(['verify']), true],
      ['admin', management(['admin']), true],
      ['rooms', management(['rooms']), false],
      ['read', management(['read']), false],
      ['no scope', management([]), false],
      ['peer with every permission', peerPrincipal(peer, ALL_PERMISSIONS), false],
    ];
    for (const [label, principal, allowed] of callers) {
      const result = d.tokens.verify(principal, token, room.id);
      if (allowed) await expect(result, label).resolves.toMatchObject({ valid: true });
      else await expect(result, label).rejects.toMatchObject({ code: 'ERR_PERMISSION_DENIED' });
    }
  });

  it("returns the token's claims for a live peer, for its room or any room", async () => {
    const { d, room, peer, token } = await withPeer();
    const expected = {
      valid: true,
      claims: {
        environment: 'sandbox',
        roomId: room.id,
        peerId: peer.id,
        identity: 'alice',
        permissions: peer.permissions,
        generation: 1,
        issuedAt: T0,
        expiresAt: new Date(T0.getTime() + 86_400_000),
        keyId: d.ring.current().kid,
      },
    };
    expect(await d.tokens.verify(verifier, token, room.id)).toMatchObject(expected);
    expect(await d.tokens.verify(verifier, token, '')).toMatchObject(expected);
  });

  it('answers WRONG_ROOM when the media server names another room', async () => {
    const { d, token } = await withPeer();
    expect(await d.tokens.verify(verifier, token, randomUUID())).toEqual({ valid: false, reason: 'WRONG_ROOM' });
  });

  it("answers WRONG_ENVIRONMENT to another environment's verifier without revealing whether the peer still exists", async () => {
    const { d, room, peer, token } = await withPeer();
    const production = management(['verify'], 'production');
    expect(await d.tokens.verify(production, token, '')).toEqual({ valid: false, reason: 'WRONG_ENVIRONMENT' });
    await d.peers.delete(management(['rooms']), room.id, peer.id);
    const reads = d.peerStore.livenessReads;
    expect(await d.tokens.verify(production, token, '')).toEqual({ valid: false, reason: 'WRONG_ENVIRONMENT' });
    expect(d.peerStore.livenessReads).toBe(reads);
  });

  it('accepts a token until its expiry plus the clock tolerance, and answers EXPIRED from then on', async () => {
    const { d, room } = await withPeer();
    const { token } = await createPeer(d, room.id, { identity: 'short', tokenTtlSeconds: 60 });
    d.clock.advance(60 + TOLERANCE - 1);
    expect(await d.tokens.verify(verifier, token, '')).toMatchObject({ valid: true });
    d.clock.advance(1);
    expect(await d.tokens.verify(verifier, token, '')).toEqual({ valid: false, reason: 'EXPIRED' });
  });

  it('answers REVOKED once the peer is deleted, and for every peer of a deleted room', async () => {
    const { d, room, peer, token } = await withPeer();
    const bob = await createPeer(d, room.id, { identity: 'bob' });
    await d.peers.delete(management(['rooms']), room.id, peer.id);
    expect(await d.tokens.verify(verifier, token, '')).toEqual({ valid: false, reason: 'REVOKED' });
    expect(await d.tokens.verify(verifier, bob.token, '')).toMatchObject({ valid: true });
    await d.rooms.delete(management(['rooms']), room.id);
    expect(await d.tokens.verify(verifier, bob.token, '')).toEqual({ valid: false, reason: 'REVOKED' });
  });

  it('answers BAD_SIGNATURE for a token of another deployment or with an altered payload, MALFORMED for junk', async () => {
    const { d, token } = await withPeer();
    const elsewhere = await buildDomain();
    const foreign = (await createPeer(elsewhere, (await createRoom(elsewhere)).id, { identity: 'x' })).token;
    expect(await d.tokens.verify(verifier, foreign, '')).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify({ ...claims, identity: 'admin' })).toString('base64url');
    expect(await d.tokens.verify(verifier, `${header}.${forged}.${signature}`, '')).toEqual({ valid: false, reason: 'BAD_SIGNATURE' });
    expect(await d.tokens.verify(verifier, 'not.a-token', '')).toEqual({ valid: false, reason: 'MALFORMED' });
  });

  it('refuses an empty token and a malformed room_id with ERR_INVALID_ARGUMENT naming the field', async () => {
    const { d, token } = await withPeer();
    await expect(d.tokens.verify(verifier, '', '')).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(/^token: /),
    });
    await expect(d.tokens.verify(verifier, token, 'room-1')).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(/^room_id: /),
    });
  });
});

describe('TokenManager.refresh', () => {
  it('is for peers only: a management token, even admin, is PERMISSION_DENIED and pointed at IssuePeerToken', async () => {
    const { d } = await withPeer();
    await expect(d.tokens.refresh(management(['admin']), 0)).rejects.toMatchObject({
      code: 'ERR_PERMISSION_DENIED',
      message: expect.stringContaining('IssuePeerToken'),
    });
  });

  it('exchanges a superseded token for one with the current permissions and generation', async () => {
    const { d, room, peer, token } = await withPeer();
    const updated = await d.peers.updatePermissions(management(['rooms']), room.id, peer.id, { ...ALL_PERMISSIONS, canPublish: false });
    expect(await d.tokens.verify(verifier, token, '')).toMatchObject({ reason: 'SUPERSEDED' });
    d.clock.advance(30);
    const fresh = await d.tokens.refresh(peerPrincipal(peer, peer.permissions, true), 600);
    expect(fresh.expiresAt).toEqual(new Date(T0.getTime() + 630_000));
    expect(await d.tokens.verify(verifier, fresh.token, room.id)).toMatchObject({
      valid: true,
      claims: { peerId: peer.id, generation: 2, permissions: updated.permissions },
    });
  });

  it('is UNAUTHENTICATED once the peer is deleted', async () => {
    const { d, room, peer } = await withPeer();
    const holder = peerPrincipal(peer);
    await expect(d.tokens.refresh(holder, 0)).resolves.toMatchObject({ token: expect.any(String) });
    await d.peers.delete(management(['rooms']), room.id, peer.id);
    await expect(d.tokens.refresh(holder, 0)).rejects.toMatchObject({ code: 'ERR_UNAUTHENTICATED' });
  });

  it("never extends a token past the peer's session: created_at + maxPeerSessionSeconds", async () => {
    const { d, peer } = await withPeer();
    d.clock.advance(SESSION - 100);
    const late = await d.tokens.refresh(peerPrincipal(peer), 3600);
    expect(late.expiresAt).toEqual(new Date(T0.getTime() + SESSION * 1000));
    expect(decodeJwt(late.token).exp).toBe(T0_SECONDS + SESSION);
  });

  it('refuses with ERR_PEER_SESSION_ENDED from the session end on, and gives a 1 s token the second before', async () => {
    const { d, peer } = await withPeer();
    d.clock.advance(SESSION - 1);
    expect((await d.tokens.refresh(peerPrincipal(peer), 0)).expiresAt).toEqual(new Date(T0.getTime() + SESSION * 1000));
    d.clock.advance(1);
    await expect(d.tokens.refresh(peerPrincipal(peer), 0)).rejects.toMatchObject({
      code: 'ERR_PEER_SESSION_ENDED',
      message: expect.stringContaining(`${SESSION} s`),
    });
  });

  it('refuses a TTL outside the limits with ERR_INVALID_ARGUMENT naming token_ttl_seconds', async () => {
    const { d, peer } = await withPeer();
    for (const ttl of [1, 59, 86_401, 1.5, -60]) {
      await expect(d.tokens.refresh(peerPrincipal(peer), ttl), String(ttl)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringMatching(/^token_ttl_seconds: /),
      });
    }
    expect((await d.tokens.refresh(peerPrincipal(peer), 60)).expiresAt).toEqual(new Date(T0.getTime() + 60_000));
  });
});

describe('TokenManager.issue', () => {
  it('is allowed to the rooms scope and admin, and to nobody else', async () => {
    const { d, room, peer } = await withPeer();
    const callers: Array<[string, Principal, boolean]> = [
      ...(['admin', 'rooms', 'read', 'verify'] as Scope[]).map(
        (s): [string, Principal, boolean] => [s, management([s]), s === 'admin' || s === 'rooms'],
      ),
      ['no scope', management([]), false],
      ['peer with every permission', peerPrincipal(peer, ALL_PERMISSIONS), false],
    ];
    for (const [label, principal, allowed] of callers) {
      const result = d.tokens.issue(principal, room.id, peer.id, 0);
      if (allowed) await expect(result, label).resolves.toMatchObject({ token: expect.any(String) });
      else await expect(result, label).rejects.toMatchObject({ code: 'ERR_PERMISSION_DENIED' });
    }
  });

  it("answers ERR_PEER_NOT_FOUND for a missing peer and for another environment's peer", async () => {
    const { d, room, peer } = await withPeer();
    await expect(d.tokens.issue(management(['rooms'], 'production'), room.id, peer.id, 0)).rejects.toMatchObject({
      code: 'ERR_PEER_NOT_FOUND',
    });
    await expect(d.tokens.issue(management(['rooms']), room.id, randomUUID(), 0)).rejects.toMatchObject({
      code: 'ERR_PEER_NOT_FOUND',
    });
  });

  it('issues tokens within the session cap too, and none once the session has ended', async () => {
    const { d, room, peer } = await withPeer({ limits: { maxPeerSessionSeconds: 3600 } });
    d.clock.advance(3000);
    const issued = await d.tokens.issue(management(['rooms']), room.id, peer.id, 0);
    expect(issued.expiresAt).toEqual(new Date(T0.getTime() + 3600_000));
    d.clock.advance(600);
    await expect(d.tokens.issue(management(['rooms']), room.id, peer.id, 0)).rejects.toMatchObject({ code: 'ERR_PEER_SESSION_ENDED' });
  });
});

describe('TokenManager.jwks', () => {
  it('publishes the signing key’s public half only', async () => {
    const { d } = await withPeer();
    const { keys } = JSON.parse(d.tokens.jwks()) as { keys: Array<Record<string, unknown>> };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kid: d.ring.current().kid, alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', use: 'sig' });
    expect(keys[0]).not.toHaveProperty('d');
  });
});
