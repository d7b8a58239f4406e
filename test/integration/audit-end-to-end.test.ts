// The audit log end to end: records written by the server itself (RPCs over a
// real socket, and a CLI command as a real process) are listed by
// ListAuditEvents, pass `roomgate audit verify` and come out of `roomgate
// audit export`; one edited in the database fails verify at that record. The
// server runs on a database of this file's own (test/support/database.ts).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Metadata, credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashManagementToken } from '../../src/domain/management-token.js';
import { AuditServiceClient, type ListAuditEventsRequest, type ListAuditEventsResponse } from '../../src/gen/roomgate/v1/audit_service.js';
import { AuditActorKind } from '../../src/gen/roomgate/v1/resources.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { baseEnv, ROOMGATE_BIN as BIN } from '../support/server-process.js';

const run = promisify(execFile);
let t: TestRoomgate;
let audit: AuditServiceClient;
let admin: string;
let adminId: string;

function list(request: Partial<ListAuditEventsRequest>, token: string): Promise<ListAuditEventsResponse> {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  const full: ListAuditEventsRequest = { pageSize: 100, pageToken: '', actorId: '', targetId: '', method: '', startTime: undefined, endTime: undefined, ...request };
  return new Promise((resolve, reject) => audit.listAuditEvents(full, md, (err, res) => (err ? reject(err) : resolve(res!))));
}

async function roomgate(...args: string[]): Promise<{ code: number; stdout: string }> {
  return run(process.execPath, [BIN, ...args], { env: { ...baseEnv, DATABASE_URL: t.db.connectionString } }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
}

beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_RELAY_ENABLED: 'false' });
  audit = new AuditServiceClient(t.address, credentials.createInsecure());
  admin = await t.managementToken('sandbox');
  const { rows } = await t.db.pool.query<{ id: string }>('SELECT id FROM management_tokens WHERE token_hash = $1', [hashManagementToken(admin)]);
  adminId = rows[0]!.id;
});
afterAll(async () => {
  audit?.close();
  await t?.close();
});

describe('records written by the server', () => {
  let roomId: string;

  it('are listed by ListAuditEvents with their actor and targets, newest first', async () => {
    const as = { token: admin };
    roomId = (await t.client.rooms.createRoom({ name: 'audited' }, as)).room!.id;
    const { peer, peerToken } = await t.client.peers.createPeer({ roomId, permissions: { canUpdateMetadata: true, canPublish: false, canSubscribe: true, canUpdateRoom: false, canRemoveParticipants: false } }, as);
    await t.client.rooms.updateRoom({ roomId, metadata: '{"topic":"audit"}' }, as);
    await t.client.peers.updatePeerMetadata({ roomId, peerId: peer!.id, clientMetadata: '{"hand":"up"}' }, { token: peerToken });
    // Refused after authentication: recorded as PERMISSION_DENIED.
    await expectStatus(t.client.rooms.deleteRoom({ roomId }, { token: peerToken }), status.PERMISSION_DENIED);
    await t.client.peers.deletePeer({ roomId, peerId: peer!.id }, as);

    const byAdmin = (await list({ actorId: adminId }, admin)).auditEvents;
    expect(byAdmin.map((e) => e.method)).toEqual([
      'roomgate.v1.PeerService/DeletePeer',
      'roomgate.v1.RoomService/UpdateRoom',
      'roomgate.v1.PeerService/CreatePeer',
      'roomgate.v1.RoomService/CreateRoom',
    ]);
    expect(byAdmin[0]!.actor).toMatchObject({ kind: AuditActorKind.AUDIT_ACTOR_KIND_MANAGEMENT_TOKEN, managementTokenId: adminId, managementTokenName: 'test' });
    expect(byAdmin[3]!.targets).toEqual([{ type: 'room', id: roomId }]);
    const byPeer = (await list({ actorId: peer!.id }, admin)).auditEvents;
    expect(byPeer.map((e) => [e.method, e.result])).toEqual([
      ['roomgate.v1.RoomService/DeleteRoom', 'PERMISSION_DENIED'],
      ['roomgate.v1.PeerService/UpdatePeerMetadata', 'OK'],
    ]);
    expect(byPeer[0]!.actor).toMatchObject({ kind: AuditActorKind.AUDIT_ACTOR_KIND_PEER_TOKEN, roomId });
    const aboutRoom = (await list({ targetId: roomId }, admin)).auditEvents;
    expect(aboutRoom.length).toBeGreaterThanOrEqual(5);
    expect((await list({ method: 'roomgate.v1.RoomService/CreateRoom', actorId: adminId }, admin)).auditEvents).toHaveLength(1);
    // Listing is a read: it leaves no record.
    const before = (await t.db.pool.query('SELECT count(*)::int AS n FROM audit_events')).rows[0].n;
    await list({}, admin);
    expect((await t.db.pool.query('SELECT count(*)::int AS n FROM audit_events')).rows[0].n).toBe(before);
  });

  it('pass `roomgate audit verify`, with a CLI change among them, and come out of export', async () => {
    const created = await roomgate('token', 'create', '--environment', 'sandbox', '--name', 'from-cli', '--scope', 'audit');
    expect(created.code).toBe(0);
    const verified = await roomgate('audit', 'verify');
    const { rows } = await t.db.pool.query<{ environment: string; n: number; hash: string }>(
      `SELECT e.environment, count(*)::int AS n, h.hash FROM audit_events e JOIN audit_chain_heads h USING (environment) GROUP BY e.environment, h.hash`,
    );
    const sandbox = rows.find((r) => r.environment === 'sandbox')!;
    expect(verified).toEqual({ code: 0, stdout: `sandbox: OK, ${sandbox.n} records (sequence 1-${sandbox.n}); head ${sandbox.n} ${sandbox.hash}\nproduction: OK, no records; head 0 ${'0'.repeat(64)}\n` });

    const exported = (await roomgate('audit', 'export', '--since', '1h')).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(exported).toHaveLength(sandbox.n);
    expect(exported.map((e) => e.sequence)).toEqual(exported.map((_, i) => String(i + 1)));
    expect(exported.at(-1)).toMatchObject({ method: 'cli token create', actor: { kind: 'AUDIT_ACTOR_KIND_CLI' }, hash: sandbox.hash });
    // The CLI's new token reads the log.
    const audit = created.stdout.trim();
    expect((await list({ method: 'cli token create' }, audit)).auditEvents).toHaveLength(1);
  });

  it('fail verify at the record edited in the database', async () => {
    const { rows } = await t.db.pool.query<{ sequence: string; id: string }>(
      `SELECT sequence::text, id FROM audit_events WHERE environment = 'sandbox' AND method = 'roomgate.v1.RoomService/UpdateRoom'`,
    );
    const victim = rows[0]!;
    await t.db.pool.query(`UPDATE audit_events SET actor_id = 'someone-else' WHERE id = $1`, [victim.id]);
    const ran = await roomgate('audit', 'verify', '--environment', 'sandbox');
    expect(ran.code).toBe(1);
    expect(ran.stdout).toMatch(new RegExp(`^sandbox: BROKEN at sequence ${victim.sequence} \\(id ${victim.id}\\): hash \\S+ does not match its content`));
  });
});
