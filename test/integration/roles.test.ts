// RoleService over real gRPC and Postgres: CRUD, the validation messages,
// scopes, environment isolation, the quota (on a server of its own, on a
// database of its own, so the other tests' roles do not count), DeleteRole's
// precondition (join codes inserted with SQL, test/support/role-join-codes.ts)
// and audit records. CreatePeer, IssuePeerToken and UpdateRole with roles are
// in roles-peers.test.ts; races in roles-race.test.ts. Each test uses role
// names of its own on this file's database (see test/support/roomgate.ts).
import { randomUUID } from 'node:crypto';
import { Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallSettings } from '../../src/client/index.js';
import { auditRowsOf } from '../support/audit-records.js';
import { insertJoinCode, joinCodeRole, roleIdOf } from '../support/role-join-codes.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';

let t: TestRoomgate;
let token: string;
let production: string;
let reader: string;
const NONE = { canPublish: false, canSubscribe: false, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false };
const SPEAKER = { ...NONE, canPublish: true, canSubscribe: true };
let n = 0;
const unique = (prefix: string) => `${prefix}-${Date.now()}-${++n}`;

beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_PURGE_INTERVAL_MS: '3600000' });
  token = await t.managementToken('sandbox');
  production = await t.managementToken('production');
  reader = await t.managementToken('sandbox', ['read']);
});
afterAll(async () => {
  await t?.close();
});

const roles = () => t.client.roles;
const newRoom = async (as = token) => (await t.client.rooms.createRoom({}, { token: as })).room!.id;

describe('CreateRole, GetRole, ListRoles, UpdateRole, DeleteRole', () => {
  it('creates a role with the defaults the proto names, and reads it back', async () => {
    const name = unique('viewer');
    const created = (await roles().createRole({ name }, { token })).role!;
    expect(created).toMatchObject({ name, permissions: NONE, tokenTtlSeconds: 86_400, metadata: '{}', description: '' });
    expect(created.createTime).toBeInstanceOf(Date);
    expect(created.updateTime).toEqual(created.createTime);
    const got = (await roles().getRole({ name }, { token: reader })).role!;
    expect(got).toEqual(created);
  });

  it('keeps every field as given', async () => {
    const name = unique('speaker');
    const role = { name, permissions: SPEAKER, tokenTtlSeconds: 600, metadata: '{"tier":"gold"}', description: 'Stage speakers 🎤' };
    const created = (await roles().createRole(role, { token })).role!;
    expect(created).toMatchObject(role);
    expect((await roles().getRole({ name }, { token })).role).toMatchObject(role);
  });

  it('lists by name, a page at a time, without repeats or gaps', async () => {
    const prefix = unique('list');
    const names = ['c', 'a', 'e', 'b', 'd'].map((s) => `${prefix}-${s}`);
    for (const name of names) await roles().createRole({ name }, { token });
    const seen: string[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const page = await roles().listRoles({ pageSize: 2, pageToken }, { token: reader });
      expect(page.roles.length).toBeLessThanOrEqual(2);
      seen.push(...page.roles.map((r) => r.name));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== '');
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((s) => s.startsWith(prefix))).toEqual([...names].sort());
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(seen.length / 2));
  });

  it('refuses a page token of another list or environment', async () => {
    await roles().createRole({ name: unique('paged-a') }, { token });
    await roles().createRole({ name: unique('paged-b') }, { token });
    const first = await roles().listRoles({ pageSize: 1 }, { token });
    expect(first.nextPageToken).not.toBe('');
    await expectStatus(roles().listRoles({ pageToken: first.nextPageToken }, { token: production }), status.INVALID_ARGUMENT, /^page_token:/);
    await expectStatus(t.client.rooms.listRooms({ pageToken: first.nextPageToken }, { token }), status.INVALID_ARGUMENT, /^page_token:/);
    await expectStatus(roles().listRoles({ pageToken: 'nonsense' }, { token }), status.INVALID_ARGUMENT, /^page_token: is not a token/);
    await expectStatus(roles().listRoles({ pageSize: 101 }, { token }), status.INVALID_ARGUMENT, /^page_size:/);
  });

  it('UpdateRole replaces every field; the name and create time stay', async () => {
    const name = unique('editable');
    const created = (await roles().createRole({ name, permissions: SPEAKER, tokenTtlSeconds: 600, metadata: '{"a":1}', description: 'x' }, { token }))
      .role!;
    const res = await roles().updateRole({ name, permissions: { ...NONE, canSubscribe: true } }, { token });
    expect(res.updatedPeerCount).toBe(0);
    expect(res.role).toMatchObject({ name, permissions: { ...NONE, canSubscribe: true }, tokenTtlSeconds: 86_400, metadata: '{}', description: '' });
    expect(res.role!.createTime).toEqual(created.createTime);
    expect(res.role!.updateTime!.getTime()).toBeGreaterThanOrEqual(created.updateTime!.getTime());
    expect((await roles().getRole({ name }, { token })).role).toEqual(res.role);
  });

  it('DeleteRole deletes; the name can be used again', async () => {
    const name = unique('gone');
    await roles().createRole({ name }, { token });
    await roles().deleteRole({ name }, { token });
    await expectStatus(roles().getRole({ name }, { token }), status.NOT_FOUND, new RegExp(`role "${name}" not found`));
    await expectStatus(roles().deleteRole({ name }, { token }), status.NOT_FOUND);
    await expectStatus(roles().updateRole({ name }, { token }), status.NOT_FOUND);
    await roles().createRole({ name }, { token });
  });

  it('is ALREADY_EXISTS for a name the environment has', async () => {
    const name = unique('twice');
    await roles().createRole({ name }, { token });
    const err = await expectStatus(roles().createRole({ name, permissions: SPEAKER }, { token }), status.ALREADY_EXISTS, /already exists; change it with UpdateRole/);
    expect(statusDetailsOf(err.metadata).errorInfo[0]).toMatchObject({ reason: 'ERR_ROLE_EXISTS', metadata: { role: name } });
    expect((await roles().getRole({ name }, { token })).role!.permissions).toEqual(NONE);
  });
});

describe('validation', () => {
  it.each([
    ['', /^name: is required/],
    ['Viewer', /^name: must be 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit/],
    ['-viewer', /^name: must be 1-64/],
    ['_viewer', /^name: must be 1-64/],
    ['view er', /^name: must be 1-64/],
    ['vïewer', /^name: must be 1-64/],
    ['v'.repeat(65), /^name: must be 1-64/],
  ])('refuses the name %j', async (name, message) => {
    await expectStatus(roles().createRole({ name }, { token }), status.INVALID_ARGUMENT, message);
    await expectStatus(roles().getRole({ name }, { token }), status.INVALID_ARGUMENT, message);
    await expectStatus(roles().updateRole({ name }, { token }), status.INVALID_ARGUMENT, message);
    await expectStatus(roles().deleteRole({ name }, { token }), status.INVALID_ARGUMENT, message);
  });

  it('accepts the longest name and one starting with a digit', async () => {
    const longest = `${'9'.repeat(40)}${randomUUID().replaceAll('-', '').slice(0, 24)}`;
    expect(longest).toHaveLength(64);
    expect((await roles().createRole({ name: longest }, { token })).role!.name).toBe(longest);
  });

  it('refuses bad terms on CreateRole and UpdateRole, naming the field', async () => {
    const name = unique('terms');
    await roles().createRole({ name }, { token });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ tokenTtlSeconds: 59 }, /^token_ttl_seconds: must be 0 \(meaning 86400\) or between 60 and 86400/],
      [{ tokenTtlSeconds: 86_401 }, /^token_ttl_seconds:/],
      [{ metadata: '{"a":' }, /^metadata: must be valid JSON text/],
      [{ metadata: JSON.stringify({ a: 'x'.repeat(4090) }) }, /^metadata: is 4\d\d\d bytes; the limit is 4096/],
      [{ description: 'd'.repeat(513) }, /^description: must be at most 512 characters/],
      [{ description: 'a\u202Eb' }, /^description: must not contain invisible/],
    ];
    for (const [fields, message] of cases) {
      const err = await expectStatus(roles().createRole({ name: unique('bad'), ...fields }, { token }), status.INVALID_ARGUMENT, message);
      expect(statusDetailsOf(err.metadata).badRequest[0]!.fieldViolations[0]!.field).toBe(message.source.slice(1).split(':')[0]);
      await expectStatus(roles().updateRole({ name, ...fields }, { token }), status.INVALID_ARGUMENT, message);
    }
    expect((await roles().getRole({ name }, { token })).role).toMatchObject({ tokenTtlSeconds: 86_400, metadata: '{}', description: '' });
    await roles().createRole({ name: unique('edges'), tokenTtlSeconds: 60, description: 'd'.repeat(512) }, { token });
  });
});

describe('scopes and environments', () => {
  it('lets read tokens read and not write', async () => {
    const name = unique('scoped');
    await expectStatus(roles().createRole({ name }, { token: reader }), status.PERMISSION_DENIED);
    await roles().createRole({ name }, { token: await t.managementToken('sandbox', ['rooms']) });
    await roles().getRole({ name }, { token: reader });
    await expectStatus(roles().updateRole({ name }, { token: reader }), status.PERMISSION_DENIED);
    await expectStatus(roles().deleteRole({ name }, { token: reader }), status.PERMISSION_DENIED);
    await expectStatus(roles().getRole({ name }, { token: await t.managementToken('sandbox', ['verify']) }), status.PERMISSION_DENIED);
  });

  it('keeps environments apart: a sandbox role is invisible to production, and a name may exist in both', async () => {
    const name = unique('isolated');
    await roles().createRole({ name, permissions: SPEAKER }, { token });
    await expectStatus(roles().getRole({ name }, { token: production }), status.NOT_FOUND);
    await expectStatus(roles().updateRole({ name, applyToExistingPeers: true }, { token: production }), status.NOT_FOUND);
    await expectStatus(roles().deleteRole({ name }, { token: production }), status.NOT_FOUND);
    const listed = await roles().listRoles({ pageSize: 100 }, { token: production });
    expect(listed.roles.map((r) => r.name)).not.toContain(name);
    await expectStatus(
      t.client.peers.createPeer({ roomId: await newRoom(production), role: name }, { token: production }),
      status.NOT_FOUND,
      /role .* not found/,
    );
    const theirs = (await roles().createRole({ name, description: 'production' }, { token: production })).role!;
    expect(theirs.permissions).toEqual(NONE);
    expect((await roles().getRole({ name }, { token })).role!.permissions).toEqual(SPEAKER);
  });
});

describe('DeleteRole and join codes', () => {
  it('is FAILED_PRECONDITION while a code that can still be redeemed names the role, saying how many and what to do', async () => {
    const name = unique('invited');
    await roles().createRole({ name }, { token });
    const roomId = await newRoom();
    const live = [await insertJoinCode(t.db.pool, { roomId, roleName: name }), await insertJoinCode(t.db.pool, { roomId, roleName: name, maxUses: 3, useCount: 2 })];
    const err = await expectStatus(roles().deleteRole({ name }, { token }), status.FAILED_PRECONDITION);
    expect(err.details).toBe(
      `role "${name}" cannot be deleted: 2 join codes that can still be redeemed use it; ` +
        'revoke them with RevokeJoinCode (ListJoinCodes shows them) or wait until they expire or are used up',
    );
    expect(statusDetailsOf(err.metadata).errorInfo[0]).toMatchObject({ reason: 'ERR_ROLE_IN_USE', metadata: { role: name, joinCodeCount: '2' } });
    await t.db.pool.query('UPDATE join_codes SET revoked_at = now() WHERE id = $1', [live[0]]);
    await expectStatus(roles().deleteRole({ name }, { token }), status.FAILED_PRECONDITION, /: 1 join code that can still be redeemed uses it;/);
    expect((await roles().getRole({ name }, { token })).role!.name).toBe(name);
  });

  it('deletes a role whose codes are all dead; they keep its name and lose its id', async () => {
    const name = unique('dead-codes');
    await roles().createRole({ name }, { token });
    const roomId = await newRoom();
    const dead = [
      await insertJoinCode(t.db.pool, { roomId, roleName: name, revoked: true }),
      await insertJoinCode(t.db.pool, { roomId, roleName: name, expiresInSeconds: -1 }),
      await insertJoinCode(t.db.pool, { roomId, roleName: name, maxUses: 2, useCount: 2 }),
    ];
    // A live code of a role of the same name in the other environment is not this role's.
    const elsewhere = await newRoom(production);
    await roles().createRole({ name }, { token: production });
    await insertJoinCode(t.db.pool, { environment: 'production', roomId: elsewhere, roleName: name });
    await roles().deleteRole({ name }, { token });
    for (const id of dead) expect(await joinCodeRole(t.db.pool, id)).toEqual({ role_id: null, role_name: name });
    await expectStatus(roles().deleteRole({ name }, { token: production }), status.FAILED_PRECONDITION);
  });

  it('leaves the peers made with the role their permissions and its name', async () => {
    const name = unique('left');
    await roles().createRole({ name, permissions: SPEAKER }, { token });
    const roomId = await newRoom();
    const made = await t.client.peers.createPeer({ roomId, role: name }, { token });
    await roles().deleteRole({ name }, { token });
    const peer = (await t.client.peers.getPeer({ roomId, peerId: made.peer!.id }, { token })).peer!;
    expect(peer).toMatchObject({ role: name, permissions: SPEAKER });
    const { rows } = await t.db.pool.query('SELECT role_id, role_name FROM peers WHERE id = $1', [made.peer!.id]);
    expect(rows[0]).toEqual({ role_id: null, role_name: name });
    const verifier = await t.managementToken('sandbox', ['verify']);
    expect((await t.client.tokens.verifyPeerToken({ token: made.peerToken }, { token: verifier })).valid).toBe(true);
    await expectStatus(t.client.peers.createPeer({ roomId, role: name }, { token }), status.NOT_FOUND, /role .* not found/);
  });
});

describe('audit', () => {
  let r = 0;
  const as = (requestId: string): CallSettings => {
    const metadata = new Metadata();
    metadata.set('x-request-id', requestId);
    return { token, metadata };
  };

  it('records every role write with the role as target, named by its name', async () => {
    const name = unique('audited');
    const calls: [string, (s: CallSettings) => Promise<unknown>][] = [
      ['CreateRole', (s) => roles().createRole({ name }, s)],
      ['UpdateRole', (s) => roles().updateRole({ name, permissions: SPEAKER, applyToExistingPeers: true }, s)],
      ['DeleteRole', (s) => roles().deleteRole({ name }, s)],
    ];
    for (const [method, call] of calls) {
      const requestId = `roles-audit-${++r}-${randomUUID()}`;
      await call(as(requestId));
      const rows = await auditRowsOf(t.db.pool, requestId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        environment: 'sandbox',
        method: `roomgate.v1.RoleService/${method}`,
        result: 'OK',
        targets: [{ type: 'role', id: name }],
      });
    }
  });

  it('names the role in the records of CreatePeer and IssuePeerToken with a role', async () => {
    const name = unique('audited-peer');
    await roles().createRole({ name, permissions: { ...NONE, canSubscribe: true } }, { token });
    const roomId = await newRoom();
    const created = `roles-audit-${++r}-${randomUUID()}`;
    const peer = (await t.client.peers.createPeer({ roomId, role: name }, as(created))).peer!;
    expect((await auditRowsOf(t.db.pool, created))[0]).toMatchObject({
      method: 'roomgate.v1.PeerService/CreatePeer',
      targets: [{ type: 'room', id: roomId }, { type: 'peer', id: peer.id }, { type: 'role', id: name }],
    });
    const other = (await t.client.peers.createPeer({ roomId, permissions: SPEAKER }, { token })).peer!;
    const issued = `roles-audit-${++r}-${randomUUID()}`;
    await t.client.tokens.issuePeerToken({ roomId, peerId: other.id, role: name }, as(issued));
    const rows = await auditRowsOf(t.db.pool, issued);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      method: 'roomgate.v1.TokenService/IssuePeerToken',
      targets: [{ type: 'room', id: roomId }, { type: 'peer', id: other.id }, { type: 'role', id: name }],
    });
  });

  it('records nothing for reads and refused writes that changed nothing', async () => {
    const name = unique('quiet');
    await roles().createRole({ name }, { token });
    const requestId = `roles-audit-${++r}-${randomUUID()}`;
    await roles().getRole({ name }, as(requestId));
    await roles().listRoles({}, as(requestId));
    await expectStatus(roles().createRole({ name }, as(requestId)), status.ALREADY_EXISTS);
    await expectStatus(roles().updateRole({ name: unique('missing') }, as(requestId)), status.NOT_FOUND);
    expect(await auditRowsOf(t.db.pool, requestId)).toHaveLength(0);
    expect(await roleIdOf(t.db.pool, name)).toBeDefined();
  });
});

describe('the quota', () => {
  let q: TestRoomgate;
  beforeAll(async () => {
    q = await startTestRoomgate({ ROOMGATE_PURGE_INTERVAL_MS: '3600000', ROOMGATE_RELAY_ENABLED: 'false', ROOMGATE_MAX_ROLES_PER_ENVIRONMENT: '3' });
  });
  afterAll(async () => {
    await q?.close();
  });

  it('holds under 12 concurrent creates: exactly 3 roles, the rest RESOURCE_EXHAUSTED; per environment', async () => {
    const admin = await q.managementToken('sandbox');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => q.client.roles.createRole({ name: `quota-${i}` }, { token: admin })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
    for (const o of outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')) {
      expect(o.reason.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(o.reason.details).toBe('the environment already has 3 roles, its limit (ROOMGATE_MAX_ROLES_PER_ENVIRONMENT); delete roles first');
    }
    expect((await q.client.roles.listRoles({}, { token: admin })).roles).toHaveLength(3);
    // Another environment has a quota of its own; a deletion frees a place.
    const other = await q.managementToken('production');
    await q.client.roles.createRole({ name: 'quota-0' }, { token: other });
    const victim = (await q.client.roles.listRoles({}, { token: admin })).roles[0]!.name;
    await q.client.roles.deleteRole({ name: victim }, { token: admin });
    await q.client.roles.createRole({ name: 'quota-again' }, { token: admin });
    await expectStatus(q.client.roles.createRole({ name: 'quota-more' }, { token: admin }), status.RESOURCE_EXHAUSTED);
    // A name the environment has is ALREADY_EXISTS even at the quota.
    await expectStatus(q.client.roles.createRole({ name: 'quota-again' }, { token: admin }), status.ALREADY_EXISTS);
  });
});
