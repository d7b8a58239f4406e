// GetCurrentManagementToken over real gRPC on real Postgres: any management
// token reads itself (never its secret), a token in its revocation grace
// period sees when it stops, and a peer token is refused. The server runs on
// a database of this file's own (see test/support/database.ts).
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Environment, ManagementScope as S } from '../../src/gen/roomgate/v1/resources.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let admin: string;

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

const as = (token: string) => ({ token });

/** Creates a token through the API, so that its id and record are known. */
async function created(scopes: S[], name = 'console') {
  return t.client.tokens.createManagementToken({ name, scopes }, as(admin));
}

describe('GetCurrentManagementToken', () => {
  it.each([
    ['admin', S.MANAGEMENT_SCOPE_ADMIN],
    ['rooms', S.MANAGEMENT_SCOPE_ROOMS],
    ['verify', S.MANAGEMENT_SCOPE_VERIFY],
    ['read', S.MANAGEMENT_SCOPE_READ],
  ])('a token with scope %s sees itself, without its secret', async (_name, scope) => {
    const { token, managementToken } = await created([scope], `only-${_name}`);
    const res = await t.client.tokens.getCurrentManagementToken({}, as(token));
    expect(res.token).toEqual(managementToken);
    expect(res.token).toMatchObject({
      name: `only-${_name}`,
      hint: `rg_sandbox_…${token.slice(-4)}`,
      environment: Environment.ENVIRONMENT_SANDBOX,
      scopes: [scope],
      inactive: false,
    });
    expect(JSON.stringify(res)).not.toContain(token.slice(11));
  });

  it('tells tokens apart: each caller gets its own record, in its own environment', async () => {
    const a = await created([S.MANAGEMENT_SCOPE_READ], 'a');
    const b = await created([S.MANAGEMENT_SCOPE_READ, S.MANAGEMENT_SCOPE_VERIFY], 'b');
    expect((await t.client.tokens.getCurrentManagementToken({}, as(a.token))).token!.id).toBe(a.managementToken!.id);
    expect((await t.client.tokens.getCurrentManagementToken({}, as(b.token))).token).toEqual(b.managementToken);
    const live = await t.managementToken('production', ['read']);
    const res = await t.client.tokens.getCurrentManagementToken({}, as(live));
    expect(res.token).toMatchObject({ environment: Environment.ENVIRONMENT_PRODUCTION, hint: `rg_live_…${live.slice(-4)}` });
  });

  it('shows the expiry it was created with', async () => {
    const expireTime = new Date(Date.now() + 3_600_000);
    expireTime.setMilliseconds(0);
    const { token } = await t.client.tokens.createManagementToken({ name: 'expiring', scopes: [S.MANAGEMENT_SCOPE_ROOMS], expireTime }, as(admin));
    const res = await t.client.tokens.getCurrentManagementToken({}, as(token));
    expect(res.token!.expireTime).toEqual(expireTime);
    expect(res.token!.revokeTime).toBeUndefined();
  });

  it('a token in its revocation grace period sees its revoke_time and still works', async () => {
    const { token, managementToken } = await created([S.MANAGEMENT_SCOPE_ROOMS], 'rolling');
    const before = Date.now();
    const revoked = await t.client.tokens.revokeManagementToken({ id: managementToken!.id, graceSeconds: 600 }, as(admin));
    const res = await t.client.tokens.getCurrentManagementToken({}, as(token));
    expect(res.token!.revokeTime).toEqual(revoked.managementToken!.revokeTime);
    expect(res.token!.revokeTime!.getTime()).toBeGreaterThanOrEqual(before + 600_000 - 1000);
    expect(res.token!.inactive).toBe(false);
    // Once revoked for good, it cannot call at all.
    await t.client.tokens.revokeManagementToken({ id: managementToken!.id, graceSeconds: 0 }, as(admin));
    await expectStatus(t.client.tokens.getCurrentManagementToken({}, as(token)), status.UNAUTHENTICATED);
  });

  it('shows its last use once written (at most once a minute, and on shutdown)', async () => {
    // Two instances on one database of their own; closing the first writes
    // the uses it kept in memory, which the second then reports.
    const first = await startTestRoomgate();
    const second = await startTestRoomgate({}, { sharing: first });
    try {
      const token = await first.managementToken('sandbox', ['read']);
      const before = await second.client.tokens.getCurrentManagementToken({}, as(token));
      expect(before.token!.lastUsedTime).toBeUndefined();
      const usedAt = Date.now();
      await first.client.tokens.getCurrentManagementToken({}, as(token));
      first.client.close();
      await first.roomgate.close();
      const after = await second.client.tokens.getCurrentManagementToken({}, as(token));
      expect(after.token!.lastUsedTime!.getTime()).toBeGreaterThanOrEqual(usedAt - 1000);
      expect(after.token!.lastUsedTime!.getTime()).toBeLessThanOrEqual(Date.now());
    } finally {
      await second.close();
      await first.db.drop();
    }
  });

  it('refuses a peer token, saying it needs a management token', async () => {
    const { room } = await t.client.rooms.createRoom({}, as(admin));
    const { peerToken } = await t.client.peers.createPeer({ roomId: room!.id }, as(admin));
    await expectStatus(t.client.tokens.getCurrentManagementToken({}, as(peerToken)), status.PERMISSION_DENIED, /needs a management token/);
    await expectStatus(t.client.tokens.getCurrentManagementToken({}, {}), status.UNAUTHENTICATED);
  });
});
