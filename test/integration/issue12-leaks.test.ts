// Issue 12, section 3, over real gRPC and Postgres: one spelling per peer
// token (VerifyPeerToken and bearer), every issued token usable as a bearer,
// no management token that outlives its creator, and no invisible or bidi
// formatting characters in identities and names. One database for the file.
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenInvalidReason as R } from '../../src/client/index.js';
import { ManagementScope as S } from '../../src/gen/roomgate/v1/resources.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';

let t: TestRoomgate;
let admin: string;
let roomId: string;

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken('sandbox');
  roomId = (await t.client.rooms.createRoom({}, { token: admin })).room!.id;
});
afterAll(() => t?.close());

/** The other spellings of `segment` that decode to the same bytes (its last character's unused bits changed). */
function aliases(segment: string): string[] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const bytes = Buffer.from(segment, 'base64url');
  return [...alphabet]
    .map((c) => segment.slice(0, -1) + c)
    .filter((v) => v !== segment && Buffer.from(v, 'base64url').equals(bytes));
}

describe('a peer token has one spelling', () => {
  it('is MALFORMED to VerifyPeerToken and UNAUTHENTICATED as a bearer when a trailing character is altered', async () => {
    const { peerToken } = await t.client.peers.createPeer({ roomId, permissions: { canUpdateMetadata: true } }, { token: admin });
    expect((await t.client.tokens.verifyPeerToken({ token: peerToken }, { token: admin })).valid).toBe(true);
    const [header, payload, signature] = peerToken.split('.') as [string, string, string];
    const forged = aliases(signature).map((s) => `${header}.${payload}.${s}`);
    expect(forged).toHaveLength(15); // 64 signature bytes leave 4 unused bits in the last character
    for (const token of forged) {
      expect(await t.client.tokens.verifyPeerToken({ token }, { token: admin })).toMatchObject({
        valid: false,
        reason: R.TOKEN_INVALID_REASON_MALFORMED,
      });
      await expectStatus(t.client.tokens.refreshPeerToken({}, { token }), status.UNAUTHENTICATED);
    }
    // The real spelling still works as a bearer.
    expect((await t.client.tokens.refreshPeerToken({}, { token: peerToken })).peerToken).not.toBe('');
  });
});

describe('token size', () => {
  it('CreatePeer refuses claims whose token could not be used as a bearer, with INVALID_ARGUMENT on metadata', async () => {
    const emoji = '🦄'.repeat(128);
    const metadata = JSON.stringify(['"'.repeat(2040)]);
    const err = await expectStatus(
      t.client.peers.createPeer({ roomId, identity: emoji, name: emoji, metadata }, { token: admin }),
      status.INVALID_ARGUMENT,
      /^metadata: the peer token would be \d+ bytes, over the 8185 bytes a bearer token may have/,
    );
    expect(statusDetailsOf(err.metadata).badRequest[0]!.fieldViolations[0]!.field).toBe('metadata');
  });
});

describe('CreateManagementToken', () => {
  it('refuses to let an expiring admin token mint one that outlives it', async () => {
    const { token: expiring } = await t.client.tokens.createManagementToken(
      { name: 'expiring', scopes: [S.MANAGEMENT_SCOPE_ADMIN], expireTime: new Date(Date.now() + 3600_000) },
      { token: admin },
    );
    await expectStatus(
      t.client.tokens.createManagementToken({ name: 'forever', scopes: [S.MANAGEMENT_SCOPE_ADMIN] }, { token: expiring }),
      status.PERMISSION_DENIED,
      /^expire_time: the calling token stops working at .*; a token it creates must expire no later/,
    );
    const child = await t.client.tokens.createManagementToken(
      { name: 'bounded', scopes: [S.MANAGEMENT_SCOPE_READ], expireTime: new Date(Date.now() + 1800_000) },
      { token: expiring },
    );
    expect(child.managementToken!.expireTime).toBeDefined();
  });
});

describe('identities and names', () => {
  it('refuse a bidi override or a zero-width character with INVALID_ARGUMENT naming the field', async () => {
    for (const [field, request] of [
      ['identity', { identity: 'alice\u202Egpj.exe' }],
      ['name', { name: 'Bob\u200B' }],
    ] as const) {
      const err = await expectStatus(
        t.client.peers.createPeer({ roomId, ...request }, { token: admin }),
        status.INVALID_ARGUMENT,
        new RegExp(`^${field}: must not contain invisible or bidirectional formatting characters`),
      );
      expect(statusDetailsOf(err.metadata).badRequest[0]!.fieldViolations[0]!.field).toBe(field);
    }
  });
});
