// The audit log's recording side over real gRPC (and gRPC-Web through the HTTP listener's bridge) and Postgres: every mutating
// RPC leaves exactly one record with its actor, full method name, targets and
// the caller's x-request-id; reads, replays and refused changes leave none;
// PERMISSION_DENIED is recorded, UNAUTHENTICATED only counted; no credential
// reaches a column. Records are found by the x-request-id each call sends.
// One server on a database of this file's own (see test/support/roomgate.ts).
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomService } from '../../console/src/gen/roomgate/v1/room_service_pb.js';
import { PeerStatus, type CallSettings } from '../../src/client/index.js';
import { ManagementScope } from '../../src/gen/roomgate/v1/resources.js';
import { hashManagementToken, managementTokenHint } from '../../src/domain/management-token.js';
import { auditRowsOf, chainProblems, type AuditRow } from '../support/audit-records.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let admin: string;
let reader: string;
/** Every credential and secret the tests saw: none may appear in a record. */
const secrets: string[] = [];
const ALL = { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true };
const NONE = { canPublish: false, canSubscribe: false, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false };

beforeAll(async () => {
  t = await startTestRoomgate({
    ROOMGATE_RELAY_ENABLED: 'false',
    ROOMGATE_PURGE_INTERVAL_MS: '3600000',
    ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true',
    ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  admin = await t.managementToken('sandbox');
  reader = await t.managementToken('sandbox', ['read']);
  secrets.push(admin, reader);
});
afterAll(() => t?.close());

let n = 0;
const newRequestId = () => `audit-${++n}-${randomUUID()}`;
/** Call settings carrying `requestId` as x-request-id. */
const as = (token: string, requestId: string): CallSettings => {
  const metadata = new Metadata();
  metadata.set('x-request-id', requestId);
  return { token, metadata };
};

async function tokenIdOf(token: string): Promise<string> {
  const { rows } = await t.db.pool.query<{ id: string }>('SELECT id FROM management_tokens WHERE token_hash = $1', [
    hashManagementToken(token),
  ]);
  return rows[0]!.id;
}

async function managementActor(token: string): Promise<Partial<AuditRow>> {
  return {
    actor_kind: 'management_token',
    actor_id: await tokenIdOf(token),
    actor_name: 'test',
    actor_hint: managementTokenHint(token),
    actor_room_id: '',
  };
}

const peerActor = (peer: { id: string; roomId: string }): Partial<AuditRow> => ({
  actor_kind: 'peer_token',
  actor_id: peer.id,
  actor_room_id: peer.roomId,
  actor_name: '',
  actor_hint: '',
});

const newRoom = async (maxPeers = 0) => (await t.client.rooms.createRoom({ maxPeers }, { token: admin })).room!.id;
async function newPeer(roomId: string, permissions = ALL) {
  const res = await t.client.peers.createPeer({ roomId, identity: `id-${randomUUID()}`, permissions }, { token: admin });
  secrets.push(res.peerToken);
  return { id: res.peer!.id, roomId, token: res.peerToken };
}
async function newEndpoint() {
  const res = await t.client.events.createWebhookEndpoint({ url: 'http://127.0.0.1:9/hook' }, { token: admin });
  secrets.push(res.secret);
  return res.endpoint!.id;
}

type Targets = [string, string][];
/** One mutating RPC: `run` calls it with `settings` (or as a peer it returns) and says which targets the record must name. */
interface Case {
  method: string;
  run(settings: (token: string) => CallSettings): Promise<{ targets: Targets; peer?: { id: string; roomId: string } }>;
}

const room = (id: string): [string, string] => ['room', id];
const peer = (id: string): [string, string] => ['peer', id];

const CASES: Case[] = [
  {
    method: 'roomgate.v1.RoomService/CreateRoom',
    run: async (s) => ({ targets: [room((await t.client.rooms.createRoom({ name: `r-${randomUUID()}` }, s(admin))).room!.id)] }),
  },
  {
    method: 'roomgate.v1.RoomService/UpdateRoom',
    run: async (s) => {
      const id = await newRoom();
      await t.client.rooms.updateRoom({ roomId: id, metadata: '{"a":1}' }, s(admin));
      return { targets: [room(id)] };
    },
  },
  {
    method: 'roomgate.v1.RoomService/DeleteRoom',
    run: async (s) => {
      const id = await newRoom();
      await newPeer(id);
      await t.client.rooms.deleteRoom({ roomId: id }, s(admin));
      return { targets: [room(id)] };
    },
  },
  {
    method: 'roomgate.v1.PeerService/CreatePeer',
    run: async (s) => {
      const id = await newRoom();
      const res = await t.client.peers.createPeer({ roomId: id, identity: 'alice', permissions: ALL }, s(admin));
      secrets.push(res.peerToken);
      return { targets: [room(id), peer(res.peer!.id)] };
    },
  },
  {
    method: 'roomgate.v1.PeerService/DeletePeer',
    run: async (s) => {
      const p = await newPeer(await newRoom());
      await t.client.peers.deletePeer({ roomId: p.roomId, peerId: p.id }, s(admin));
      return { targets: [room(p.roomId), peer(p.id)] };
    },
  },
  {
    method: 'roomgate.v1.PeerService/DeletePeer',
    run: async (s) => {
      const p = await newPeer(await newRoom());
      const res = await t.client.peers.deletePeer({ roomId: p.roomId, peerId: p.id, ban: { reason: 'spam' } }, s(admin));
      return { targets: [room(p.roomId), peer(p.id), ['ban', res.ban!.id]] };
    },
  },
  {
    method: 'roomgate.v1.PeerService/UpdatePeerMetadata',
    run: async (s) => {
      const p = await newPeer(await newRoom());
      await t.client.peers.updatePeerMetadata({ roomId: p.roomId, peerId: p.id, clientMetadata: '{"hand":true}' }, s(p.token));
      return { targets: [room(p.roomId), peer(p.id)], peer: p };
    },
  },
  {
    method: 'roomgate.v1.RoomService/UpdateRoom',
    run: async (s) => {
      const p = await newPeer(await newRoom());
      await t.client.rooms.updateRoom({ roomId: p.roomId, metadata: '{"by":"peer"}' }, s(p.token));
      return { targets: [room(p.roomId)], peer: p };
    },
  },
  {
    method: 'roomgate.v1.PeerService/UpdatePeer',
    run: async (s) => {
      const p = await newPeer(await newRoom());
      await t.client.peers.updatePeer({ roomId: p.roomId, peerId: p.id, permissions: NONE }, s(admin));
      return { targets: [room(p.roomId), peer(p.id)] };
    },
  },
  {
    method: 'roomgate.v1.PeerService/ReportPeerStatus',
    run: async (s) => {
      const p = await newPeer(await newRoom());
      await t.client.peers.reportPeerStatus({ roomId: p.roomId, peerId: p.id, status: PeerStatus.PEER_STATUS_CONNECTED }, s(admin));
      return { targets: [room(p.roomId), peer(p.id)] };
    },
  },
  {
    method: 'roomgate.v1.BanService/CreateBan',
    run: async (s) => {
      const p = await newPeer(await newRoom());
      const identity = (await t.client.peers.getPeer({ roomId: p.roomId, peerId: p.id }, { token: admin })).peer!.identity;
      const res = await t.client.bans.createBan({ identity, roomId: p.roomId }, s(admin));
      return { targets: [['ban', res.ban!.id], room(p.roomId), peer(p.id)] };
    },
  },
  {
    method: 'roomgate.v1.BanService/DeleteBan',
    run: async (s) => {
      const ban = (await t.client.bans.createBan({ identity: `gone-${randomUUID()}` }, { token: admin })).ban!;
      await t.client.bans.deleteBan({ banId: ban.id }, s(admin));
      return { targets: [['ban', ban.id]] };
    },
  },
  {
    method: 'roomgate.v1.EventService/CreateWebhookEndpoint',
    run: async (s) => {
      const res = await t.client.events.createWebhookEndpoint({ url: 'http://127.0.0.1:9/created' }, s(admin));
      secrets.push(res.secret);
      return { targets: [['webhook_endpoint', res.endpoint!.id]] };
    },
  },
  {
    method: 'roomgate.v1.EventService/UpdateWebhookEndpoint',
    run: async (s) => {
      const id = await newEndpoint();
      await t.client.events.updateWebhookEndpoint({ endpointId: id, enabled: false }, s(admin));
      return { targets: [['webhook_endpoint', id]] };
    },
  },
  {
    method: 'roomgate.v1.EventService/RotateWebhookSecret',
    run: async (s) => {
      const id = await newEndpoint();
      secrets.push((await t.client.events.rotateWebhookSecret({ endpointId: id, graceSeconds: 60 }, s(admin))).secret);
      return { targets: [['webhook_endpoint', id]] };
    },
  },
  {
    method: 'roomgate.v1.EventService/DeleteWebhookEndpoint',
    run: async (s) => {
      const id = await newEndpoint();
      await t.client.events.deleteWebhookEndpoint({ endpointId: id }, s(admin));
      return { targets: [['webhook_endpoint', id]] };
    },
  },
  {
    method: 'roomgate.v1.EventService/RedeliverEvent',
    run: async (s) => {
      const endpoint = await newEndpoint();
      const roomId = await newRoom();
      const { rows } = await t.db.pool.query<{ id: string }>('SELECT id FROM events WHERE room_id = $1 ORDER BY position LIMIT 1', [roomId]);
      const eventId = rows[0]!.id;
      await t.client.events.redeliverEvent({ eventId, endpointId: endpoint }, s(admin));
      return { targets: [['event', eventId], ['webhook_endpoint', endpoint]] };
    },
  },
  {
    method: 'roomgate.v1.EventService/SendTestWebhookEvent',
    run: async (s) => {
      const endpoint = await newEndpoint();
      const { delivery } = await t.client.events.sendTestWebhookEvent({ endpointId: endpoint }, s(admin));
      return { targets: [['webhook_endpoint', endpoint], ['event', delivery!.eventId]] };
    },
  },
  {
    method: 'roomgate.v1.TokenService/IssuePeerToken',
    run: async (s) => {
      const p = await newPeer(await newRoom());
      secrets.push((await t.client.tokens.issuePeerToken({ roomId: p.roomId, peerId: p.id }, s(admin))).peerToken);
      return { targets: [room(p.roomId), peer(p.id)] };
    },
  },
  {
    method: 'roomgate.v1.TokenService/CreateManagementToken',
    run: async (s) => {
      const res = await t.client.tokens.createManagementToken({ name: 'made', scopes: [ManagementScope.MANAGEMENT_SCOPE_READ] }, s(admin));
      secrets.push(res.token);
      return { targets: [['management_token', res.managementToken!.id]] };
    },
  },
  {
    method: 'roomgate.v1.TokenService/RevokeManagementToken',
    run: async (s) => {
      const made = await t.managementToken('sandbox', ['read']);
      secrets.push(made);
      const id = await tokenIdOf(made);
      await t.client.tokens.revokeManagementToken({ id, graceSeconds: 0 }, s(admin));
      return { targets: [['management_token', id]] };
    },
  },
  {
    method: 'roomgate.v1.TokenService/RotateSigningKey',
    run: async (s) => {
      const res = await t.client.tokens.rotateSigningKey({ prepublishSeconds: 0 }, s(admin));
      return { targets: [['signing_key', res.signingKey!.kid]] };
    },
  },
];

/** The RPCs that change state (or mint a credential), as docs/audit-log.md lists them. */
const AUDITED_RPCS = [
  'RoomService/CreateRoom', 'RoomService/UpdateRoom', 'RoomService/DeleteRoom',
  'PeerService/CreatePeer', 'PeerService/DeletePeer', 'PeerService/UpdatePeerMetadata', 'PeerService/UpdatePeer',
  'PeerService/ReportPeerStatus', 'BanService/CreateBan', 'BanService/DeleteBan',
  'EventService/CreateWebhookEndpoint', 'EventService/UpdateWebhookEndpoint', 'EventService/DeleteWebhookEndpoint',
  'EventService/RotateWebhookSecret', 'EventService/RedeliverEvent', 'EventService/SendTestWebhookEvent', 'TokenService/IssuePeerToken',
  'TokenService/CreateManagementToken', 'TokenService/RevokeManagementToken', 'TokenService/RotateSigningKey',
].map((m) => `roomgate.v1.${m}`);

describe('every mutating RPC', () => {
  it('is in the table below', () => {
    expect(new Set(CASES.map((c) => c.method))).toEqual(new Set(AUDITED_RPCS));
  });

  it.each(CASES.map((c, i) => [`${c.method} #${i}`, c] as const))('%s leaves exactly one record', async (_name, c) => {
    const requestId = newRequestId();
    const { targets, peer: by } = await c.run((token) => as(token, requestId));
    const rows = await auditRowsOf(t.db.pool, requestId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      environment: 'sandbox',
      method: c.method,
      request_id: requestId,
      result: 'OK',
      error_reason: '',
      targets: targets.map(([type, id]) => ({ type, id })),
      target_ids: targets.map(([, id]) => id),
      ...(by ? peerActor(by) : await managementActor(admin)),
    });
    expect(Math.abs(rows[0]!.time.getTime() - Date.now())).toBeLessThan(60_000);
  });
});

describe('over gRPC-Web', () => {
  it('a change through the HTTP listener\'s bridge leaves the same one record, under the browser\'s x-request-id', async () => {
    const rooms = createClient(RoomService, createGrpcWebTransport({ baseUrl: t.httpUrl }));
    const requestId = newRequestId();
    const created = await rooms.createRoom({ name: `web-${randomUUID()}` }, { headers: { authorization: `Bearer ${admin}`, 'x-request-id': requestId } });
    const rows = await auditRowsOf(t.db.pool, requestId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      method: 'roomgate.v1.RoomService/CreateRoom',
      targets: [{ type: 'room', id: created.room!.id }],
      result: 'OK',
      ...(await managementActor(admin)),
    });
  });
});

describe('calls that change nothing', () => {
  it('leave no record: reads, VerifyPeerToken, RefreshPeerToken, GetJwks', async () => {
    const p = await newPeer(await newRoom());
    const verifier = await t.managementToken('sandbox', ['verify']);
    secrets.push(verifier);
    const calls: [string, (s: (token: string) => CallSettings) => Promise<unknown>][] = [
      ['GetRoom', (s) => t.client.rooms.getRoom({ roomId: p.roomId }, s(admin))],
      ['ListRooms', (s) => t.client.rooms.listRooms({}, s(admin))],
      ['GetPeer', (s) => t.client.peers.getPeer({ roomId: p.roomId, peerId: p.id }, s(admin))],
      ['ListPeers', (s) => t.client.peers.listPeers({ roomId: p.roomId }, s(admin))],
      ['ListBans', (s) => t.client.bans.listBans({}, s(admin))],
      ['ListWebhookEndpoints', (s) => t.client.events.listWebhookEndpoints({}, s(admin))],
      ['ListManagementTokens', (s) => t.client.tokens.listManagementTokens({}, s(admin))],
      ['ListSigningKeys', (s) => t.client.tokens.listSigningKeys({}, s(admin))],
      ['VerifyPeerToken', (s) => t.client.tokens.verifyPeerToken({ token: p.token }, s(verifier))],
      ['RefreshPeerToken', async (s) => secrets.push((await t.client.tokens.refreshPeerToken({}, s(p.token))).peerToken)],
      ['GetJwks', (s) => t.client.tokens.getJwks({}, s(admin))],
    ];
    for (const [name, call] of calls) {
      const requestId = newRequestId();
      await call((token) => as(token, requestId));
      expect(await auditRowsOf(t.db.pool, requestId), name).toEqual([]);
    }
  });

  it('leave no record when a CreateRoom is replayed with the same request_id: the first call has it', async () => {
    const [first, replay] = [newRequestId(), newRequestId()];
    const key = randomUUID();
    const a = await t.client.rooms.createRoom({ requestId: key }, as(admin, first));
    const b = await t.client.rooms.createRoom({ requestId: key }, as(admin, replay));
    expect(b.room!.id).toBe(a.room!.id);
    expect(await auditRowsOf(t.db.pool, first)).toHaveLength(1);
    expect(await auditRowsOf(t.db.pool, replay)).toEqual([]);
  });

  it('leave no record when a repeated ReportPeerStatus changes nothing', async () => {
    const p = await newPeer(await newRoom());
    const report = (requestId: string) =>
      t.client.peers.reportPeerStatus({ roomId: p.roomId, peerId: p.id, status: PeerStatus.PEER_STATUS_CONNECTED }, as(admin, requestId));
    const [first, again] = [newRequestId(), newRequestId()];
    await report(first);
    await report(again);
    expect(await auditRowsOf(t.db.pool, first)).toHaveLength(1);
    expect(await auditRowsOf(t.db.pool, again)).toEqual([]);
  });
});

describe('a change that rolls back', () => {
  it('leaves no record: CreatePeer refused by max_peers', async () => {
    const roomId = await newRoom(1);
    await newPeer(roomId);
    const requestId = newRequestId();
    await expectStatus(
      t.client.peers.createPeer({ roomId, identity: 'late', permissions: ALL }, as(admin, requestId)),
      status.FAILED_PRECONDITION,
      /room is full/,
    );
    expect(await auditRowsOf(t.db.pool, requestId)).toEqual([]);
  });

  it('leaves neither the change nor a record when its transaction fails after the store named the target', async () => {
    // The append itself fails, the last statement before COMMIT: the room
    // the store already inserted and named must roll back with it.
    const requestId = newRequestId();
    await t.db.pool.query(`
      CREATE FUNCTION audit_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.request_id = '${requestId}' THEN RAISE EXCEPTION 'refused by the test'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER audit_test_refuse BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_test_refuse();`);
    try {
      const head = async () => (await t.db.pool.query('SELECT sequence, hash FROM audit_chain_heads WHERE environment = $1', ['sandbox'])).rows[0];
      const before = await head();
      const name = `doomed-${randomUUID()}`;
      await expectStatus(t.client.rooms.createRoom({ name }, as(admin, requestId)), status.INTERNAL);
      expect((await t.db.pool.query('SELECT 1 FROM rooms WHERE name = $1', [name])).rowCount).toBe(0);
      expect(await auditRowsOf(t.db.pool, requestId)).toEqual([]);
      expect(await head()).toEqual(before);
    } finally {
      await t.db.pool.query('DROP TRIGGER audit_test_refuse ON audit_events; DROP FUNCTION audit_test_refuse()');
    }
  });
});

describe('refused calls', () => {
  it('records PERMISSION_DENIED for a management token, on a change and on a read', async () => {
    const [change, read] = [newRequestId(), newRequestId()];
    await expectStatus(t.client.rooms.createRoom({}, as(reader, change)), status.PERMISSION_DENIED);
    await expectStatus(t.client.tokens.listManagementTokens({}, as(reader, read)), status.PERMISSION_DENIED);
    const actor = await managementActor(reader);
    for (const [requestId, method] of [[change, 'RoomService/CreateRoom'], [read, 'TokenService/ListManagementTokens']] as const) {
      const rows = await auditRowsOf(t.db.pool, requestId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        method: `roomgate.v1.${method}`,
        result: 'PERMISSION_DENIED',
        error_reason: 'ERR_PERMISSION_DENIED',
        targets: [],
        ...actor,
      });
    }
  });

  it('records PERMISSION_DENIED for a peer token without can_update_room calling UpdateRoom', async () => {
    const p = await newPeer(await newRoom(), { ...ALL, canUpdateRoom: false });
    const requestId = newRequestId();
    await expectStatus(t.client.rooms.updateRoom({ roomId: p.roomId, metadata: '{}' }, as(p.token, requestId)), status.PERMISSION_DENIED);
    const rows = await auditRowsOf(t.db.pool, requestId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ method: 'roomgate.v1.RoomService/UpdateRoom', result: 'PERMISSION_DENIED', ...peerActor(p) });
  });

  it('records a WatchEvents stream refused after authentication: watching changes nothing, but the refusal counts', async () => {
    const p = await newPeer(await newRoom());
    const requestId = newRequestId();
    const metadata = as(p.token, requestId).metadata!;
    metadata.set('authorization', `Bearer ${p.token}`);
    const stream = t.client.eventStream.watchEvents({ afterCursor: '', roomId: '', types: [], heartbeatIntervalSeconds: 0 }, metadata);
    stream.on('data', () => undefined);
    const err = await new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    expect(err.code).toBe(status.PERMISSION_DENIED);
    const rows = await auditRowsOf(t.db.pool, requestId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ method: 'roomgate.v1.EventService/WatchEvents', result: 'PERMISSION_DENIED', targets: [], ...peerActor(p) });
  });

  it('does not record UNAUTHENTICATED calls; the per-code RPC counter counts them', async () => {
    const scrape = async () => (await fetch(`http://127.0.0.1:${t.roomgate.metricsPort}/metrics`)).text();
    const counted = (text: string) => Number(/roomgate_rpc_requests_total\{method="CreateRoom",code="16"\} (\d+)/.exec(text)?.[1] ?? 0);
    const before = counted(await scrape());
    const requestIds = [newRequestId(), newRequestId()];
    await expectStatus(t.client.rooms.createRoom({}, as('rg_sandbox_forged', requestIds[0]!)), status.UNAUTHENTICATED);
    await expectStatus(t.client.rooms.createRoom({}, { metadata: as('', requestIds[1]!).metadata }), status.UNAUTHENTICATED);
    for (const requestId of requestIds) expect(await auditRowsOf(t.db.pool, requestId)).toEqual([]);
    expect(counted(await scrape())).toBe(before + 2);
  });
});

describe('the records', () => {
  it('hold no token, peer token or webhook secret in any column', async () => {
    expect(secrets.length).toBeGreaterThan(20);
    const { rows } = await t.db.pool.query<{ row: string }>('SELECT row_to_json(a)::text AS row FROM audit_events a');
    expect(rows.length).toBeGreaterThan(CASES.length);
    const dump = rows.map((r) => r.row).join('\n');
    for (const secret of secrets) {
      // The hint keeps a management token's last 4 characters, by design; any longer run is a leak.
      expect(dump).not.toContain(secret.slice(0, -4));
      expect(dump).not.toContain(secret.slice(4));
    }
  });

  it('hash quotes, backslashes and non-ASCII text as auditHash does (the database computes the hash)', async () => {
    const name = 'Zoë "ops" \\ ключ 🔑 </script>';
    const made = await t.client.tokens.createManagementToken({ name, scopes: [ManagementScope.MANAGEMENT_SCOPE_ROOMS] }, { token: admin });
    secrets.push(made.token);
    const requestId = `odd"\\{}[]-${randomUUID()}`;
    await t.client.rooms.createRoom({}, as(made.token, requestId));
    const rows = await auditRowsOf(t.db.pool, requestId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor_name: name, request_id: requestId });
    expect(await chainProblems(t.db.pool, 'sandbox')).toEqual([]);
  });

  it('form an unbroken chain in each environment', async () => {
    expect(await chainProblems(t.db.pool, 'sandbox')).toEqual([]);
    expect(await chainProblems(t.db.pool, 'production')).toEqual([]);
  });
});
