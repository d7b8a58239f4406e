// Issue 12, section 3: every peer token roomgate issues can be used as a
// bearer (size), and a management token cannot mint one that outlives it.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { maxPeerTokenBytes } from '../../src/domain/peer-token.js';
import { NO_PERMISSIONS } from '../../src/domain/principal.js';
import { ALL_PERMISSIONS, buildDomain, createPeer, createRoom, management, T0, type Domain } from '../support/fakes/index.js';

/** Valid JSON metadata made of `n` escaped quotes: 2n+4 bytes here, 4n+… inside the token's JSON. */
const quotes = (n: number) => JSON.stringify(['"'.repeat(n)]);
const EMOJI_IDENTITY = '🦄'.repeat(128);

async function authenticates(d: Domain, token: string): Promise<boolean> {
  return (await d.authenticator.authenticate(`Bearer ${token}`)).kind === 'peer';
}

describe('peer token size', () => {
  it('CreatePeer refuses claims whose token would not fit in a bearer header, naming metadata', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    // 4084 bytes of metadata, under the 4096-byte metadata limit; with 128
    // emoji as identity and name this made a 13 KB token before the fix.
    const metadata = quotes(2040);
    expect(Buffer.byteLength(metadata)).toBeLessThanOrEqual(d.limits.maxMetadataBytes);
    await expect(createPeer(d, room.id, { identity: EMOJI_IDENTITY, name: EMOJI_IDENTITY, metadata })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      field: 'metadata',
      message: expect.stringMatching(/^metadata: the peer token would be \d+ bytes, over the 8185 bytes a bearer token may have/),
    });
    expect(await d.peers.list(management(['admin']), room.id, 100, '')).toMatchObject({ items: [] });
  });

  it('the largest accepted peer has tokens that authenticate, even after many permission changes', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    const max = maxPeerTokenBytes(d.limits);
    let attempt = 0;
    const accepted = async (n: number) => {
      // Identities are unique in a room; a fixed-width counter keeps them the same length.
      const identity = `${String(attempt++).padStart(4, '0')}-${'🦄'.repeat(120)}`;
      try {
        return await createPeer(d, room.id, { identity, name: EMOJI_IDENTITY, metadata: quotes(n) });
      } catch (err) {
        expect(err).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'metadata' });
        return undefined;
      }
    };
    // Binary search for the largest accepted metadata: the bound is on the encoded token, not on the field.
    let lo = 0;
    let hi = 2040;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (await accepted(mid)) lo = mid;
      else hi = mid - 1;
    }
    expect(await accepted(lo + 1)).toBeUndefined();
    const created = await accepted(lo);
    expect(created).toBeDefined();
    const { peer, token } = created!;
    expect(token.length).toBeLessThanOrEqual(max);
    // Tight: within the room left for a generation of up to 16 digits and longer permission spellings.
    expect(token.length).toBeGreaterThan(max - 40);
    expect(await authenticates(d, token)).toBe(true);

    for (let i = 0; i < 12; i++) {
      await d.peers.updatePermissions(management(['rooms']), room.id, peer.id, i % 2 ? ALL_PERMISSIONS : NO_PERMISSIONS);
    }
    const issued = await d.tokens.issue(management(['rooms']), room.id, peer.id, 0);
    expect(issued.token.length).toBeLessThanOrEqual(max);
    expect(await authenticates(d, issued.token)).toBe(true);
    const refreshed = await d.tokens.refresh(await d.authenticator.authenticate(`Bearer ${issued.token}`), 0);
    expect(await authenticates(d, refreshed.token)).toBe(true);
  });

  it('IssuePeerToken refuses a peer stored before the bound whose token would be too long, naming peer_id', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    // Written straight to the store, as a peer created before CreatePeer checked.
    const { peer } = await d.peerStore.create(
      {
        id: randomUUID(),
        roomId: room.id,
        environment: 'sandbox',
        identity: EMOJI_IDENTITY,
        name: EMOJI_IDENTITY,
        metadata: quotes(2040),
        permissions: NO_PERMISSIONS,
        role: '',
        roleId: null,
        stamp: d.peerTokens.stamp(600),
      },
      null,
    );
    await expect(d.tokens.issue(management(['rooms']), room.id, peer.id, 0)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      field: 'peer_id',
      message: expect.stringMatching(/^peer_id: this peer's token would be \d+ bytes, over the 8185 bytes/),
    });
  });

  it('PeerTokens.encodedLength predicts the signed length exactly', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    for (const metadata of ['{}', quotes(1), quotes(2), quotes(3), '{"ü":"🦄\\\\"}']) {
      const { peer } = await createPeer(d, room.id, { identity: `${metadata.length}🦄`, metadata });
      const subject = { environment: peer.environment, roomId: room.id, peerId: peer.id, identity: peer.identity, name: peer.name, metadata, permissions: peer.permissions, generation: peer.generation };
      const stamp = d.peerTokens.stamp(600);
      expect(d.peerTokens.encodedLength(subject, stamp)).toBe((await d.peerTokens.sign(subject, stamp)).length);
    }
  });
});

describe('CreateManagementToken by a token that expires', () => {
  async function adminEnding(d: Domain, fields: { expiresAt?: Date; graceSeconds?: number }) {
    const minted = await d.managementTokens.mint('sandbox', { name: 'admin', scopes: ['admin'], expiresAt: fields.expiresAt ?? null });
    if (fields.graceSeconds !== undefined) await d.managementTokens.revoke(management(['admin']), minted.record.id, fields.graceSeconds);
    return d.authenticator.authenticate(`Bearer ${minted.token}`);
  }
  const HOUR = 3600_000;

  it('cannot mint a token that never expires or expires later than itself', async () => {
    const d = await buildDomain();
    const caller = await adminEnding(d, { expiresAt: new Date(T0.getTime() + HOUR) });
    for (const expiresAt of [null, new Date(T0.getTime() + 2 * HOUR)]) {
      await expect(d.managementTokens.create(caller, { name: 'forever', scopes: ['admin'], expiresAt })).rejects.toMatchObject({
        code: 'ERR_PERMISSION_DENIED',
        message: expect.stringMatching(/^expire_time: the calling token stops working at 2026-11-25T13:00:00.000Z; a token it creates must expire no later/),
      });
    }
    const child = await d.managementTokens.create(caller, { name: 'ok', scopes: ['read'], expiresAt: new Date(T0.getTime() + HOUR) });
    expect(child.record.expiresAt).toEqual(new Date(T0.getTime() + HOUR));
  });

  it('counts a revocation in its grace period as the end, and leaves a token without expiry unbounded', async () => {
    const d = await buildDomain();
    const rolling = await adminEnding(d, { graceSeconds: 600 });
    await expect(d.managementTokens.create(rolling, { name: 'x', scopes: ['admin'], expiresAt: null })).rejects.toMatchObject({
      code: 'ERR_PERMISSION_DENIED',
    });
    const forever = await adminEnding(d, {});
    expect((await d.managementTokens.create(forever, { name: 'y', scopes: ['admin'], expiresAt: null })).record.expiresAt).toBeNull();
  });
});
