// "No plaintext secrets at rest or in logs". One server lives a busy life:
// management tokens made over gRPC and the way the CLI makes them, rooms,
// peers, idempotent retries, refreshed, issued and superseded peer tokens,
// calls refused with good and bad credentials, revocations and deletions, all
// logged at trace level. Then the whole database as text (every row of every
// table, see dumpDatabase) and every log line are searched for each secret,
// in the forms a careless store would leave it in (as text, as the hex that
// bytea prints as, as base64): every management token and its random body,
// every peer token and its signature, the key-encryption key, and the signing
// key's private half (its PEM body and its raw `d`).
//
// The search is shown to find a secret that is there, and the dump and the
// logs are shown to hold what they should (each token's SHA-256 and hint, the
// encrypted key, the method of every call), so the test cannot pass on an
// empty dump or an empty log.
import { createHash, createPrivateKey } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { managementTokenHint } from '../../src/domain/management-token.js';
import { ManagementScope as S } from '../../src/gen/roomgate/v1/resources.js';
import { dumpDatabase } from '../support/db-fingerprint.js';
import { flipSignatureBit, readServerSigningKeys } from '../support/hostile-tokens.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let dump: string;
let logs: string;
const managementTokens: string[] = [];
const peerTokens: string[] = [];
/** Credentials presented and refused: a server must not log what may be a real token with a typo. */
const refused: string[] = [];
const as = (token: string) => ({ token });
const NONE = { canPublish: false, canSubscribe: false, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false };

/** A secret and the forms in which finding it would mean it leaked. */
interface Secret {
  what: string;
  forms: string[];
}
const asText = (what: string, secret: string): Secret => ({
  what,
  forms: [secret, Buffer.from(secret).toString('hex'), Buffer.from(secret).toString('base64')],
});
const asBytes = (what: string, secret: Buffer): Secret => ({
  what,
  forms: [secret.toString('hex'), secret.toString('base64'), secret.toString('base64url')],
});
/** What of `secrets` appears in `text`, by name. */
const leaked = (text: string, secrets: Secret[]) => secrets.filter((s) => s.forms.some((f) => text.includes(f))).map((s) => s.what);

/** Creates a peer (with request_id, then retried), refreshes, issues and supersedes its tokens; returns them all. */
async function peerLife(admin: string, roomId: string, requestId: string) {
  const req = { roomId, identity: `id-${requestId}`, permissions: { ...NONE, canPublish: true }, requestId };
  const created = await t.client.peers.createPeer(req, as(admin));
  const retried = await t.client.peers.createPeer(req, as(admin));
  expect(retried.peerToken).toBe(created.peerToken);
  const peerId = created.peer!.id;
  const refreshed = (await t.client.tokens.refreshPeerToken({ tokenTtlSeconds: 600 }, as(created.peerToken))).peerToken;
  const issued = (await t.client.tokens.issuePeerToken({ roomId, peerId, tokenTtlSeconds: 120 }, as(admin))).peerToken;
  await t.client.peers.updatePeer({ roomId, peerId, permissions: { ...NONE, canSubscribe: true } }, as(admin));
  // The superseded token may still be exchanged for a current one.
  const current = (await t.client.tokens.refreshPeerToken({}, as(issued))).peerToken;
  return { peerId, tokens: [created.peerToken, refreshed, issued, current] };
}

beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_LOG_LEVEL: 'trace' });
  const admin = await t.managementToken('sandbox');
  const liveAdmin = await t.managementToken('production', ['rooms']);
  const readOnly = await t.managementToken('sandbox', ['read']);
  const create = (name: string, scopes: S[], expireTime?: Date) => t.client.tokens.createManagementToken({ name, scopes, expireTime }, as(admin));
  const ci = await create('ci', [S.MANAGEMENT_SCOPE_ROOMS, S.MANAGEMENT_SCOPE_VERIFY]);
  const media = await create('media', [S.MANAGEMENT_SCOPE_VERIFY], new Date(Date.now() + 3_600_000));
  const revoked = await create('revoked', [S.MANAGEMENT_SCOPE_ADMIN]);
  const rolled = await create('rolled', [S.MANAGEMENT_SCOPE_READ]);
  await t.client.tokens.revokeManagementToken({ id: revoked.managementToken!.id }, as(admin));
  await t.client.tokens.revokeManagementToken({ id: rolled.managementToken!.id, graceSeconds: 3600 }, as(admin));
  managementTokens.push(admin, liveAdmin, readOnly, ci.token, media.token, revoked.token, rolled.token);

  const room = (await t.client.rooms.createRoom({ name: 'secrets', metadata: '{"topic":"x"}', requestId: 'room-1' }, as(ci.token))).room!;
  const liveRoom = (await t.client.rooms.createRoom({ requestId: 'room-1' }, as(liveAdmin))).room!;
  const first = await peerLife(ci.token, room.id, 'peer-1');
  const second = await peerLife(admin, room.id, 'peer-2');
  const live = await peerLife(liveAdmin, liveRoom.id, 'peer-1');
  peerTokens.push(...first.tokens, ...second.tokens, ...live.tokens);
  for (const token of peerTokens) await t.client.tokens.verifyPeerToken({ token, roomId: room.id }, as(media.token));

  // Refused calls, so rejected credentials go through the logging path too.
  refused.push(revoked.token, `${admin.slice(0, -1)}${admin.endsWith("x") ? "y" : "x"}`, flipSignatureBit(first.tokens[0]!));
  for (const token of refused) await expectStatus(t.client.rooms.getRoom({ roomId: room.id }, as(token)), status.UNAUTHENTICATED);
  await expectStatus(t.client.tokens.verifyPeerToken({ token: second.tokens[3]! }, as(second.tokens[3]!)), status.PERMISSION_DENIED);
  await expectStatus(t.client.rooms.createRoom({}, as(readOnly)), status.PERMISSION_DENIED);
  await expectStatus(t.client.peers.createPeer({ roomId: room.id, metadata: '{' }, as(admin)), status.INVALID_ARGUMENT);
  await t.client.peers.deletePeer({ roomId: room.id, peerId: first.peerId }, as(admin));
  await expectStatus(t.client.rooms.getRoom({ roomId: room.id }, as(first.tokens[3]!)), status.UNAUTHENTICATED);
  await t.client.rooms.deleteRoom({ roomId: liveRoom.id }, as(liveAdmin));
  await expectStatus(t.client.tokens.refreshPeerToken({}, as(live.tokens[3]!)), status.UNAUTHENTICATED);

  dump = await dumpDatabase(t.db.pool);
  logs = t.logs.join('');
});
afterAll(() => t?.close());

describe('no plaintext secret at rest or in the logs', () => {
  let secrets: Secret[];

  beforeAll(async () => {
    const keys = await readServerSigningKeys(t.db.pool, t.config.keyEncryptionKey!);
    const kek = t.config.keyEncryptionKey!;
    secrets = [
      ...managementTokens.flatMap((token, i) => {
        const prefix = token.startsWith('rg_live_') ? 'rg_live_' : 'rg_sandbox_';
        return [asText(`management token ${i}`, token), asText(`management token ${i}, random body`, token.slice(prefix.length, prefix.length + 43))];
      }),
      ...peerTokens.flatMap((token, i) => [asText(`peer token ${i}`, token), asText(`peer token ${i}, signature`, token.split('.')[2]!)]),
      ...refused.map((token, i) => asText(`refused credential ${i}`, token)),
      asBytes('key-encryption key', kek),
      ...keys.flatMap(({ kid, pem }) => {
        const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');
        const d = Buffer.from(createPrivateKey(pem).export({ format: 'jwk' }).d!, 'base64url');
        return [
          { what: `signing key ${kid}, PEM body`, forms: [body, pem.split('\n')[1]!, Buffer.from(body, 'base64').toString('hex')] },
          asBytes(`signing key ${kid}, d`, d),
        ];
      }),
    ];
  });

  it('has a search that finds a secret that is there', () => {
    expect(secrets.length).toBe(7 * 2 + 12 * 2 + 3 + 1 + 2);
    expect(leaked(`${dump}${managementTokens[3]}`, secrets)).toEqual(['management token 3', 'management token 3, random body']);
    expect(leaked(`${logs}${Buffer.from(peerTokens[5]!.split('.')[2]!).toString('hex')}`, secrets)).toEqual(['peer token 5, signature']);
    expect(leaked(t.config.keyEncryptionKey!.toString('base64url'), secrets)).toEqual(['key-encryption key']);
  });

  it('stores each management token only as its SHA-256 and hint, and the signing key only encrypted', async () => {
    for (const token of managementTokens) {
      expect(dump).toContain(createHash('sha256').update(token).digest('hex'));
      expect(dump).toContain(managementTokenHint(token));
    }
    for (const key of await readServerSigningKeys(t.db.pool, t.config.keyEncryptionKey!)) {
      expect(dump).toContain(key.encrypted.toString('hex'));
      expect(dump).toContain(key.publicJwk.x);
    }
    expect(dump).toMatch(/^idempotency_keys: \(sandbox,CreatePeer,peer-2,/m);
    expect(leaked(dump, secrets)).toEqual([]);
  });

  it('logs every call, refused ones included, and no secret', () => {
    const methods = ['CreateManagementToken', 'RevokeManagementToken', 'CreateRoom', 'CreatePeer', 'RefreshPeerToken', 'IssuePeerToken'];
    methods.push('UpdatePeer', 'VerifyPeerToken', 'GetRoom', 'DeletePeer', 'DeleteRoom');
    for (const method of methods) expect(logs).toContain(`"method":"${method}"`);
    for (const code of [status.UNAUTHENTICATED, status.PERMISSION_DENIED, status.INVALID_ARGUMENT]) expect(logs).toContain(`"code":${code},`);
    expect(leaked(logs, secrets)).toEqual([]);
  });
});
