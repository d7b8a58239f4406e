import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { hashManagementToken, managementTokenHint, mintManagementToken } from '../../src/domain/management-token.js';
import type { Scope } from '../../src/domain/principal.js';
import { buildDomain, createPeer, createRoom, management, T0, TOLERANCE, type Domain } from '../support/fakes/index.js';

const REJECTED = 'invalid, expired or revoked credentials';

async function mint(d: Domain, scopes: Scope[] = ['rooms'], fields: { environment?: 'sandbox' | 'production'; expiresAt?: Date } = {}) {
  return d.managementTokens.mint(fields.environment ?? 'sandbox', { name: 'backend', scopes, expiresAt: fields.expiresAt ?? null });
}

/** The error an authentication fails with. */
async function failure(d: Domain, authorization: string | undefined): Promise<DomainError> {
  const err = await d.authenticator.authenticate(authorization).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `authenticate(${authorization?.slice(0, 40)}) should fail`).toBeInstanceOf(DomainError);
  expect((err as DomainError).code).toBe('ERR_UNAUTHENTICATED');
  return err as DomainError;
}

async function lastUsedAt(d: Domain, id: string): Promise<Date | null | undefined> {
  await d.lastUsed.stop();
  const all = [...(await d.managementTokenStore.list('sandbox', undefined, 100)), ...(await d.managementTokenStore.list('production', undefined, 100))];
  return all.find((r) => r.id === id)?.lastUsedAt;
}

describe('Authenticator: the authorization value', () => {
  it('is UNAUTHENTICATED when absent or empty, saying how to send credentials', async () => {
    const d = await buildDomain();
    for (const value of [undefined, '']) {
      expect((await failure(d, value)).message).toContain("'authorization: Bearer <token>'");
    }
  });

  it("is UNAUTHENTICATED unless it is exactly 'Bearer <token>', without a store lookup", async () => {
    const d = await buildDomain();
    const { token } = await mint(d);
    for (const value of [`Basic ${token}`, token, 'Bearer', 'Bearer ', `Bearer  ${token}`, `Bearer ${token} extra`, `Bearer ${token}\n`, 'Bearer tökén']) {
      expect((await failure(d, value)).message, JSON.stringify(value)).toBe("authorization metadata must be 'Bearer <token>'");
    }
    expect(d.managementTokenStore.lookups).toBe(0);
  });

  it('accepts the scheme in any case, as RFC 6750 allows', async () => {
    const d = await buildDomain();
    const { token, record } = await mint(d);
    expect(await d.authenticator.authenticate(`bearer ${token}`)).toMatchObject({ kind: 'management', tokenId: record.id });
  });

  it('refuses a value longer than maxAuthorizationBytes before parsing it', async () => {
    const d = await buildDomain({ limits: { maxAuthorizationBytes: 100 } });
    const err = await failure(d, `Bearer ${'x'.repeat(94)}`);
    expect(err.message).toContain('longer than 100 bytes');
  });
});

describe('Authenticator: management tokens', () => {
  it('resolve to a management principal of their environment, with their id and scopes', async () => {
    const d = await buildDomain();
    const sandbox = await mint(d, ['rooms', 'read']);
    const production = await mint(d, ['verify'], { environment: 'production' });
    expect(await d.authenticator.authenticate(`Bearer ${sandbox.token}`)).toEqual({
      kind: 'management',
      environment: 'sandbox',
      tokenId: sandbox.record.id,
      tokenName: 'backend',
      tokenHint: sandbox.record.hint,
      scopes: ['rooms', 'read'],
      endsAt: null,
    });
    expect(sandbox.record.hint).toMatch(/^rg_sandbox_…/);
    expect(await d.authenticator.authenticate(`Bearer ${production.token}`)).toMatchObject({
      environment: 'production',
      tokenId: production.record.id,
      scopes: ['verify'],
    });
  });

  it('record their last use at the clock time of the call, and only for accepted calls', async () => {
    const d = await buildDomain();
    const used = await mint(d);
    const revoked = await mint(d);
    await d.managementTokens.revoke(management(['admin']), revoked.record.id, 0);
    d.clock.advance(42);
    await d.authenticator.authenticate(`Bearer ${used.token}`);
    await failure(d, `Bearer ${revoked.token}`);
    expect(await lastUsedAt(d, used.record.id)).toEqual(new Date(T0.getTime() + 42_000));
    expect(await lastUsedAt(d, revoked.record.id)).toBeNull();
    expect(d.usageWriteErrors).toEqual([]);
  });

  it('with a wrong checksum (a typo) are rejected without a store lookup', async () => {
    const d = await buildDomain();
    const { token } = await mint(d);
    const typo = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    expect((await failure(d, `Bearer ${typo}`)).message).toBe(REJECTED);
    expect(d.managementTokenStore.lookups).toBe(0);
  });

  it('that are well formed but unknown are rejected after the lookup', async () => {
    const d = await buildDomain();
    await mint(d);
    expect((await failure(d, `Bearer ${mintManagementToken('sandbox').token}`)).message).toBe(REJECTED);
    expect(d.managementTokenStore.lookups).toBe(1);
  });

  it('stop working at their expire_time, not a second before', async () => {
    const d = await buildDomain();
    const { token } = await mint(d, ['rooms'], { expiresAt: new Date(T0.getTime() + 3_600_000) });
    d.clock.advance(3599);
    await expect(d.authenticator.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ kind: 'management' });
    d.clock.advance(1);
    expect((await failure(d, `Bearer ${token}`)).message).toBe(REJECTED);
  });

  it('revoked without grace stop working at once, even when this instance has the token cached', async () => {
    const d = await buildDomain();
    const { token, record } = await mint(d);
    await d.authenticator.authenticate(`Bearer ${token}`);
    await d.managementTokens.revoke(management(['admin']), record.id, 0);
    expect((await failure(d, `Bearer ${token}`)).message).toBe(REJECTED);
  });

  it('revoked with a grace period work until it ends; a later revocation may shorten it but not extend it', async () => {
    const d = await buildDomain();
    const admin = management(['admin']);
    const { token, record } = await mint(d);
    const ok = () => expect(d.authenticator.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ tokenId: record.id });
    await d.managementTokens.revoke(admin, record.id, 600);
    const extended = await d.managementTokens.revoke(admin, record.id, 3600);
    expect(extended.revokedAt).toEqual(new Date(T0.getTime() + 600_000));
    d.clock.advance(599);
    await ok();
    d.clock.advance(1);
    await failure(d, `Bearer ${token}`);

    const other = await mint(d);
    await d.managementTokens.revoke(admin, other.record.id, 600);
    await d.managementTokens.revoke(admin, other.record.id, 10);
    d.clock.advance(10);
    await failure(d, `Bearer ${other.token}`);
  });

  it("are rejected when the stored row's environment differs from the token's prefix", async () => {
    const d = await buildDomain();
    const minted = mintManagementToken('sandbox');
    d.managementTokenStore.plant({
      id: randomUUID(),
      environment: 'production',
      name: 'misfiled',
      hint: managementTokenHint(minted.token),
      scopes: ['admin'],
      expiresAt: null,
      hash: hashManagementToken(minted.token),
    });
    expect((await failure(d, `Bearer ${minted.token}`)).message).toBe(REJECTED);
  });

  it('are bootstrapped once: an admin sandbox token on an empty store, nothing after', async () => {
    const d = await buildDomain();
    const token = await d.managementTokens.bootstrap();
    expect(token).toMatch(/^rg_sandbox_/);
    expect(await d.authenticator.authenticate(`Bearer ${token}`)).toMatchObject({ environment: 'sandbox', scopes: ['admin'] });
    expect(await d.managementTokens.bootstrap()).toBeUndefined();
    expect(await d.managementTokenStore.list('sandbox', undefined, 10)).toHaveLength(1);
  });
});

describe('Authenticator: peer tokens', () => {
  it('resolve to a peer principal with the claims of the token', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    const permissions = { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: false, canRemoveParticipants: false };
    const { peer, token } = await createPeer(d, room.id, { identity: 'alice', permissions });
    const principal = await d.authenticator.authenticate(`Bearer ${token}`);
    expect(principal).toEqual({
      kind: 'peer',
      environment: 'sandbox',
      roomId: room.id,
      peerId: peer.id,
      permissions,
      tokenId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      superseded: false,
    });
  });

  it('after a permission change resolve as superseded: refused everywhere but RefreshPeerToken, whose token is current', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    const { peer, token } = await createPeer(d, room.id, { identity: 'alice' });
    await d.peers.updatePermissions(management(['rooms']), room.id, peer.id, { ...peer.permissions, canPublish: true });
    const stale = await d.authenticator.authenticate(`Bearer ${token}`);
    expect(stale).toMatchObject({ kind: 'peer', superseded: true });
    await expect(d.peers.get(stale, room.id, peer.id)).rejects.toMatchObject({ code: 'ERR_UNAUTHENTICATED' });
    const fresh = await d.tokens.refresh(stale, 0);
    expect(await d.authenticator.authenticate(`Bearer ${fresh.token}`)).toMatchObject({
      superseded: false,
      permissions: { canPublish: true },
    });
  });

  it('of a deleted peer, expired or unsigned are rejected with the same message as management tokens', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    const deleted = await createPeer(d, room.id, { identity: 'gone' });
    const expiring = await createPeer(d, room.id, { identity: 'brief', tokenTtlSeconds: 60 });
    await d.peers.delete(management(['rooms']), room.id, deleted.peer.id);
    expect((await failure(d, `Bearer ${deleted.token}`)).message).toBe(REJECTED);
    d.clock.advance(60 + TOLERANCE);
    expect((await failure(d, `Bearer ${expiring.token}`)).message).toBe(REJECTED);
    const [header, payload] = expiring.token.split('.');
    expect((await failure(d, `Bearer ${header}.${payload}.AAAA`)).message).toBe(REJECTED);
  });
});
