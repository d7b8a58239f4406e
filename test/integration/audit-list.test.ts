// ListAuditEvents over a real server (startTestRoomgate, on this file's own
// database; see test/support/database.ts). Records are appended through SQL
// as the chain requires (test/support/audit-seed.ts), each test under actors
// of its own, so records that the server writes itself (refused calls are
// audited) never change what a test filters for.
import { randomUUID } from 'node:crypto';
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/domain/audit-record.js';
import {
  AuditServiceClient,
  type ListAuditEventsRequest,
  type ListAuditEventsResponse,
} from '../../src/gen/roomgate/v1/audit_service.js';
import { AuditActorKind, Environment } from '../../src/gen/roomgate/v1/resources.js';
import { appendAuditRecord, appendAuditRecords } from '../support/audit-seed.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';

let t: TestRoomgate;
let audit: AuditServiceClient;
let admin: string;

function list(request: Partial<ListAuditEventsRequest>, token: string): Promise<ListAuditEventsResponse> {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  const full: ListAuditEventsRequest = { pageSize: 0, pageToken: '', actorId: '', targetId: '', method: '', startTime: undefined, endTime: undefined, ...request };
  return new Promise((resolve, reject) => audit.listAuditEvents(full, md, (err, res) => (err ? reject(err) : resolve(res!))));
}

/** Every page of a query, following next_page_token. */
async function listAll(request: Partial<ListAuditEventsRequest>, token = admin): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pageToken = '';
  let pages = 0;
  do {
    const res = await list({ ...request, pageToken }, token);
    ids.push(...res.auditEvents.map((e) => e.id));
    pageToken = res.nextPageToken;
    pages++;
  } while (pageToken);
  return { ids, pages };
}

const newestFirst = (records: AuditRecord[]) => records.map((r) => r.id).reverse();
const manager = (name = 'ci') => ({ kind: 'management_token' as const, tokenId: randomUUID(), name, hint: 'rg_sandbox_…a1B2' });

beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_RELAY_ENABLED: 'false' });
  audit = new AuditServiceClient(t.address, credentials.createInsecure());
  admin = await t.managementToken('sandbox');
});
afterAll(async () => {
  audit?.close();
  await t?.close();
});

describe('ListAuditEvents', () => {
  it('maps every field of a record, for each kind of actor', async () => {
    const peer = { kind: 'peer_token' as const, peerId: randomUUID(), roomId: randomUUID() };
    const cli = { kind: 'cli' as const, osUser: `ops-${randomUUID()}` };
    const mgmt = manager('deployer');
    const roomId = randomUUID();
    const a = await appendAuditRecord(t.db.pool, { actor: mgmt, targets: [{ type: 'room', id: roomId }, { type: 'peer', id: randomUUID() }], requestId: 'req-1' });
    const b = await appendAuditRecord(t.db.pool, { actor: peer, method: 'roomgate.v1.PeerService/DeletePeer', result: 'PERMISSION_DENIED', errorReason: 'ERR_PERMISSION_DENIED' });
    const c = await appendAuditRecord(t.db.pool, { actor: cli, method: 'cli token create', targets: [] });
    const code = { kind: 'join_code' as const, joinCodeId: randomUUID() };
    const d = await appendAuditRecord(t.db.pool, { actor: code, method: 'roomgate.v1.JoinCodeService/RedeemJoinCode' });

    const [got] = (await list({ actorId: mgmt.tokenId }, admin)).auditEvents;
    expect(got).toEqual({
      id: a.id,
      sequence: a.sequence,
      time: a.time,
      environment: Environment.ENVIRONMENT_SANDBOX,
      actor: {
        kind: AuditActorKind.AUDIT_ACTOR_KIND_MANAGEMENT_TOKEN,
        managementTokenId: mgmt.tokenId,
        managementTokenName: 'deployer',
        managementTokenHint: 'rg_sandbox_…a1B2',
        peerId: '',
        roomId: '',
        osUser: '',
        joinCodeId: '',
      },
      method: 'roomgate.v1.RoomService/CreateRoom',
      targets: a.targets,
      requestId: 'req-1',
      result: 'OK',
      errorReason: '',
      previousHash: a.previousHash,
      hash: a.hash,
    });
    const [byPeer] = (await list({ actorId: peer.peerId }, admin)).auditEvents;
    expect(byPeer).toMatchObject({
      id: b.id,
      actor: { kind: AuditActorKind.AUDIT_ACTOR_KIND_PEER_TOKEN, peerId: peer.peerId, roomId: peer.roomId, managementTokenId: '' },
      result: 'PERMISSION_DENIED',
      errorReason: 'ERR_PERMISSION_DENIED',
    });
    const [byCli] = (await list({ actorId: cli.osUser }, admin)).auditEvents;
    expect(byCli).toMatchObject({ id: c.id, actor: { kind: AuditActorKind.AUDIT_ACTOR_KIND_CLI, osUser: cli.osUser }, method: 'cli token create', targets: [] });
    const [byCode] = (await list({ actorId: code.joinCodeId }, admin)).auditEvents;
    expect(byCode).toMatchObject({
      id: d.id,
      actor: { kind: AuditActorKind.AUDIT_ACTOR_KIND_JOIN_CODE, joinCodeId: code.joinCodeId, managementTokenId: '', peerId: '', osUser: '' },
      method: 'roomgate.v1.JoinCodeService/RedeemJoinCode',
    });
    expect(BigInt(d.sequence)).toBe(BigInt(a.sequence) + 3n);
  });

  it('filters by actor, target, method and time range, newest first, and the filters combine', async () => {
    const alice = manager('alice');
    const bob = manager('bob');
    const roomId = randomUUID();
    const base = Date.UTC(2026, 0, 10, 12, 0, 0);
    // Ten records a minute apart, alternating actors; every third names the room.
    const records = await appendAuditRecords(t.db.pool, 10, (i) => ({
      actor: i % 2 === 0 ? alice : bob,
      time: new Date(base + i * 60_000),
      method: i % 2 === 0 ? 'roomgate.v1.RoomService/UpdateRoom' : 'roomgate.v1.PeerService/CreatePeer',
      targets: i % 3 === 0 ? [{ type: 'room', id: roomId }, { type: 'peer', id: randomUUID() }] : [{ type: 'room', id: randomUUID() }],
    }));
    const pick = (f: (i: number) => boolean) => newestFirst(records.filter((_, i) => f(i)));

    expect((await listAll({ actorId: alice.tokenId })).ids).toEqual(pick((i) => i % 2 === 0));
    expect((await listAll({ targetId: roomId })).ids).toEqual(pick((i) => i % 3 === 0));
    // A peer target is found as well as a room target.
    const peerTarget = records[3]!.targets[1]!.id;
    expect((await listAll({ targetId: peerTarget })).ids).toEqual([records[3]!.id]);
    expect((await listAll({ actorId: bob.tokenId, method: 'roomgate.v1.PeerService/CreatePeer' })).ids).toEqual(pick((i) => i % 2 === 1));
    expect((await listAll({ actorId: bob.tokenId, method: 'roomgate.v1.RoomService/UpdateRoom' })).ids).toEqual([]);
    // start_time is inclusive, end_time exclusive.
    const window = { startTime: new Date(base + 2 * 60_000), endTime: new Date(base + 6 * 60_000) };
    expect((await listAll({ actorId: alice.tokenId, ...window })).ids).toEqual(pick((i) => i % 2 === 0 && i >= 2 && i < 6));
    expect((await listAll({ targetId: roomId, ...window })).ids).toEqual(pick((i) => i % 3 === 0 && i >= 2 && i < 6));
    expect((await listAll({ actorId: alice.tokenId, startTime: new Date(base + 8 * 60_000) })).ids).toEqual([records[8]!.id]);
    expect((await listAll({ actorId: alice.tokenId, endTime: new Date(base + 60_000) })).ids).toEqual([records[0]!.id]);
  });

  it('pages with page_size, the default 50, and a token bound to its filters', async () => {
    const carol = manager('carol');
    const records = await appendAuditRecords(t.db.pool, 57, () => ({ actor: carol }));
    const expected = newestFirst(records);
    const paged = await listAll({ actorId: carol.tokenId, pageSize: 10 });
    expect(paged).toEqual({ ids: expected, pages: 6 });
    const first = await list({ actorId: carol.tokenId }, admin);
    expect(first.auditEvents).toHaveLength(50);
    expect(first.nextPageToken).not.toBe('');
    const rest = await list({ actorId: carol.tokenId, pageToken: first.nextPageToken }, admin);
    expect([...first.auditEvents, ...rest.auditEvents].map((e) => e.id)).toEqual(expected);
    expect(rest.nextPageToken).toBe('');
    // Records appended between pages do not shift the next page.
    const page1 = await list({ actorId: carol.tokenId, pageSize: 5 }, admin);
    await appendAuditRecords(t.db.pool, 3, () => ({ actor: carol }));
    const page2 = await list({ actorId: carol.tokenId, pageSize: 5, pageToken: page1.nextPageToken }, admin);
    expect(page2.auditEvents.map((e) => e.id)).toEqual(expected.slice(5, 10));

    // The token is refused with other filters, or by another list.
    for (const other of [{ actorId: randomUUID() }, { actorId: carol.tokenId, method: 'x' }, { actorId: carol.tokenId, startTime: new Date(0) }]) {
      const err = await expectStatus(list({ ...other, pageToken: page1.nextPageToken }, admin), status.INVALID_ARGUMENT, /page_token/);
      expect(statusDetailsOf(err.metadata).badRequest[0]!.fieldViolations[0]!.field).toBe('page_token');
    }
    const rooms = await t.client.rooms.listRooms({ pageSize: 1 }, { token: admin });
    if (rooms.nextPageToken) await expectStatus(list({ pageToken: rooms.nextPageToken }, admin), status.INVALID_ARGUMENT, /page_token/);
    await expectStatus(list({ pageToken: 'garbage' }, admin), status.INVALID_ARGUMENT, /page_token/);
  });

  it('refuses bad requests with INVALID_ARGUMENT and the field', async () => {
    const cases: [Partial<ListAuditEventsRequest>, string][] = [
      [{ pageSize: 101 }, 'page_size'],
      [{ actorId: 'a\u0000b' }, 'actor_id'],
      [{ targetId: 'x'.repeat(5000) }, 'target_id'],
      [{ method: 'Create\nRoom' }, 'method'],
      [{ startTime: new Date(Date.UTC(2026, 0, 2)), endTime: new Date(Date.UTC(2026, 0, 1)) }, 'end_time'],
      [{ startTime: new Date(Date.UTC(2026, 0, 1)), endTime: new Date(Date.UTC(2026, 0, 1)) }, 'end_time'],
    ];
    for (const [request, field] of cases) {
      const err = await expectStatus(list(request, admin), status.INVALID_ARGUMENT);
      const details = statusDetailsOf(err.metadata);
      expect(details.badRequest[0]!.fieldViolations.map((v) => v.field), JSON.stringify(request)).toEqual([field]);
      expect(err.details).not.toMatch(/SELECT|audit_events|at .*\.ts/);
    }
  });

  it('returns only the caller environment: another environment is invisible, with the same filters', async () => {
    const shared = manager('shared');
    const sandbox = await appendAuditRecords(t.db.pool, 3, () => ({ actor: shared, environment: 'sandbox' }));
    const production = await appendAuditRecords(t.db.pool, 2, () => ({ actor: shared, environment: 'production' }));
    const prodAdmin = await t.managementToken('production');
    expect((await listAll({ actorId: shared.tokenId }, admin)).ids).toEqual(newestFirst(sandbox));
    expect((await listAll({ actorId: shared.tokenId }, prodAdmin)).ids).toEqual(newestFirst(production));
    const [prod] = (await list({ actorId: shared.tokenId, pageSize: 1 }, prodAdmin)).auditEvents;
    expect(prod!.environment).toBe(Environment.ENVIRONMENT_PRODUCTION);
    // A production page token does not open in sandbox.
    const page = await list({ actorId: shared.tokenId, pageSize: 1 }, prodAdmin);
    await expectStatus(list({ actorId: shared.tokenId, pageSize: 1, pageToken: page.nextPageToken }, admin), status.INVALID_ARGUMENT, /page_token/);
    // Unfiltered, each environment's list is exactly its rows in the database.
    for (const [environment, token] of [['sandbox', admin], ['production', prodAdmin]] as const) {
      const { rows } = await t.db.pool.query<{ id: string }>('SELECT id FROM audit_events WHERE environment = $1 ORDER BY sequence DESC', [environment]);
      const listed = (await listAll({ pageSize: 100 }, token)).ids;
      // A refused call is itself audited, so the server may have appended since the SELECT: compare the common tail.
      expect(listed.slice(listed.length - rows.length)).toEqual(rows.map((r) => r.id));
    }
  });

  it('is allowed to scopes audit and admin, and refused to rooms, read, verify and peer tokens', async () => {
    const dave = manager('dave');
    await appendAuditRecord(t.db.pool, { actor: dave });
    for (const scope of ['audit', 'admin'] as const) {
      const token = await t.managementToken('sandbox', [scope]);
      expect((await list({ actorId: dave.tokenId }, token)).auditEvents).toHaveLength(1);
    }
    const { room } = await t.client.rooms.createRoom({}, { token: admin });
    const { peerToken } = await t.client.peers.createPeer(
      { roomId: room!.id, permissions: { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true } },
      { token: admin },
    );
    for (const [who, token] of [
      ['rooms', await t.managementToken('sandbox', ['rooms'])],
      ['read', await t.managementToken('sandbox', ['read'])],
      ['verify', await t.managementToken('sandbox', ['verify'])],
      ['rooms,read,verify', await t.managementToken('sandbox', ['rooms', 'read', 'verify'])],
      ['peer', peerToken],
    ] as const) {
      const err: ServiceError = await expectStatus(list({ actorId: dave.tokenId }, token), status.PERMISSION_DENIED);
      expect(err.details, who).toMatch(who === 'peer' ? /management token/ : /'audit' scope/);
    }
    await expectStatus(list({}, 'rg_sandbox_notatoken'), status.UNAUTHENTICATED);
  });

  it('a token with scope audit can do nothing else', async () => {
    const token = await t.managementToken('sandbox', ['audit']);
    await expectStatus(t.client.rooms.listRooms({}, { token }), status.PERMISSION_DENIED, /scope/);
    await expectStatus(t.client.rooms.createRoom({}, { token }), status.PERMISSION_DENIED, /scope/);
    await expectStatus(t.client.tokens.listManagementTokens({}, { token }), status.PERMISSION_DENIED, /scope/);
  });
});
