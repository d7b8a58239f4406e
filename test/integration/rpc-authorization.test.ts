// The `Authorization:` line of every RPC comment in proto/roomgate/v1 (what
// docs/api-reference.md, grpcurl describe and generated stubs tell callers)
// against what the running server enforces (src/domain/permissions.ts). For
// each RPC, read from the embedded descriptor set, a valid request is sent as:
// a management token holding only one scope, for each scope; a peer token of
// the room, holding every peer permission; and no token. Each must succeed
// exactly when the line allows that caller, and otherwise fail with
// PERMISSION_DENIED (or UNAUTHENTICATED without a token). The conditions a
// line puts on peer tokens (own room, can_update_room, ...) are covered by
// authorization.test.ts. Requests are built from JSON with the descriptors
// alone, so a new RPC fails here until it gets a request below. The server
// runs on a database of this file's own (see test/support/database.ts).
import * as grpc from '@grpc/grpc-js';
import { fromBinary, fromJson, toBinary, toJson, type DescMethod, type JsonValue } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_DESCRIPTOR_SET_BASE64 } from '../../src/gen/descriptor-set.js';
import type { Scope } from '../../src/domain/principal.js';
import { inSeconds } from '../support/join-codes.js';
import { callUnary, leadingComment, registryFrom } from '../support/reflection-client.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

const SCOPES: readonly Scope[] = ['admin', 'rooms', 'verify', 'read', 'audit'];
const ALL_PERMISSIONS = { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true };

/** Who an RPC's `Authorization:` line admits. */
interface Rule {
  line: string;
  /** No token needed: every caller is admitted. */
  open: boolean;
  /** Management scopes that allow the call. */
  scopes: Scope[];
  /** Whether a peer token may call it (under the line's conditions). */
  peer: boolean;
}

/**
 * Parses the line's grammar: `none; …`, or clauses separated by `; ` among
 * `management token with scope A, B or admin`, `any management token` and `peer token …`.
 */
function parseRule(method: DescMethod): Rule {
  const comment = leadingComment(method) ?? '';
  const line = /^ ?Authorization: (.+)$/m.exec(comment)?.[1];
  if (line === undefined) throw new Error(`${method.parent.name}.${method.name} has no Authorization line`);
  const management = /(?:^|; )management token with scope ([a-z]+(?:, [a-z]+)*)(?: or ([a-z]+))?[;.]/.exec(line);
  const scopes = /(?:^|; )any management token[;.]/.test(line)
    ? [...SCOPES]
    : management ? [...management[1]!.split(', '), ...(management[2] ? [management[2]] : [])] : [];
  return { line, open: /^none\b/.test(line), scopes: scopes as Scope[], peer: /(?:^|; )peer token\b/.test(line) };
}

const registry = registryFrom(fromBinary(FileDescriptorSetSchema, Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64')).file);
const methods = [...registry]
  .filter((d) => d.kind === 'service' && d.typeName.startsWith('roomgate.v1.'))
  .flatMap((s) => (s.kind === 'service' ? s.methods : []));

let t: TestRoomgate;
let client: grpc.Client;
let admin: string;
const scoped = new Map<Scope, string>();

/** What one call came to: OK or the status name. */
type Outcome = string;
const statusName = (code: number): string => grpc.status[code] ?? String(code);

/** Call metadata carrying `token`; null sends no authorization at all. */
function metadata(token: string | null): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token !== null) md.set('authorization', `Bearer ${token}`);
  return md;
}

const method = (name: string): DescMethod => {
  const found = methods.find((m) => m.name === name);
  if (!found) throw new Error(`no RPC ${name}`);
  return found;
};

/** Calls a unary RPC with a JSON request, as grpcurl -d would; rejects with the ServiceError. */
async function invoke(name: string, json: JsonValue, token: string | null = admin): Promise<Record<string, JsonValue>> {
  const m = method(name);
  const reply = await callUnary(client, m, toBinary(m.input, fromJson(m.input, json)), metadata(token));
  return toJson(m.output, fromBinary(m.output, reply)) as Record<string, JsonValue>;
}

/**
 * The outcome of a WatchEvents call: OK once an event arrives (an admin
 * creates and deletes a room to cause one: room_deleted is among the
 * revocation types that a token with scope verify may watch).
 */
function watch(m: DescMethod, json: JsonValue, token: string | null): Promise<Outcome> {
  return new Promise((resolve) => {
    const stream = client.makeServerStreamRequest(
      `/${m.parent.typeName}/${m.name}`,
      (bytes: Uint8Array) => Buffer.from(bytes),
      (bytes: Buffer) => bytes,
      toBinary(m.input, fromJson(m.input, json)),
      metadata(token),
    );
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.cancel();
      resolve(outcome);
    };
    // An empty after_cursor streams events committed after the call starts, so
    // the event is caused once the stream is open (headers), or after a pause.
    let caused = false;
    const cause = () => {
      if (caused || settled) return;
      caused = true;
      void invoke('CreateRoom', {}).then((created) => invoke('DeleteRoom', { roomId: (created.room as { id: string }).id }));
    };
    const pause = setTimeout(cause, 300);
    const timer = setTimeout(() => settle('no event within 5 s'), 5000);
    stream.on('metadata', cause);
    stream.on('data', () => settle('OK'));
    stream.on('error', (err: grpc.ServiceError) => {
      clearTimeout(pause);
      settle(statusName(err.code));
    });
  });
}

/** A fresh room with a peer holding every permission, for one call. */
interface Fixture {
  roomId: string;
  peerId: string;
  peerToken: string;
}

async function fixture(): Promise<Fixture> {
  const room = (await invoke('CreateRoom', {})).room as Record<string, string>;
  const created = await invoke('CreatePeer', { roomId: room.id!, permissions: ALL_PERMISSIONS });
  return { roomId: room.id!, peerId: (created.peer as Record<string, string>).id!, peerToken: created.peerToken as string };
}

async function webhookEndpoint(): Promise<string> {
  const created = await invoke('CreateWebhookEndpoint', { url: 'http://127.0.0.1:9/hook' });
  return (created.endpoint as Record<string, string>).id!;
}

/** A valid request for each RPC, aimed at the fixture's room and peer. */
const REQUESTS: Record<string, (f: Fixture) => Promise<JsonValue>> = {
  CreateRoom: async () => ({}),
  GetRoom: async (f) => ({ roomId: f.roomId }),
  ListRooms: async () => ({}),
  UpdateRoom: async (f) => ({ roomId: f.roomId, metadata: '{"topic":"x"}' }),
  DeleteRoom: async (f) => ({ roomId: f.roomId }),
  CreatePeer: async (f) => ({ roomId: f.roomId }),
  GetPeer: async (f) => ({ roomId: f.roomId, peerId: f.peerId }),
  ListPeers: async (f) => ({ roomId: f.roomId }),
  DeletePeer: async (f) => {
    const victim = (await invoke('CreatePeer', { roomId: f.roomId })).peer as Record<string, string>;
    return { roomId: f.roomId, peerId: victim.id! };
  },
  UpdatePeerMetadata: async (f) => ({ roomId: f.roomId, peerId: f.peerId, clientMetadata: '{"hand":"up"}' }),
  UpdatePeer: async (f) => ({ roomId: f.roomId, peerId: f.peerId, permissions: ALL_PERMISSIONS }),
  ReportPeerStatus: async (f) => ({ roomId: f.roomId, peerId: f.peerId, status: 'PEER_STATUS_CONNECTED' }),
  VerifyPeerToken: async (f) => ({ token: f.peerToken, roomId: f.roomId }),
  RefreshPeerToken: async () => ({}),
  GetJwks: async () => ({}),
  IssuePeerToken: async (f) => ({ roomId: f.roomId, peerId: f.peerId }),
  CreateManagementToken: async () => ({ name: 'matrix', scopes: ['MANAGEMENT_SCOPE_READ'] }),
  ListManagementTokens: async () => ({}),
  GetCurrentManagementToken: async () => ({}),
  RevokeManagementToken: async () => {
    const created = await invoke('CreateManagementToken', { name: 'victim', scopes: ['MANAGEMENT_SCOPE_READ'] });
    return { id: (created.managementToken as Record<string, string>).id! };
  },
  // 0 activates the new key at once, so no rotation is left pending for the next call.
  RotateSigningKey: async () => ({ prepublishSeconds: 0 }),
  ListSigningKeys: async () => ({}),
  CreateWebhookEndpoint: async () => ({ url: 'http://127.0.0.1:9/hook' }),
  GetWebhookEndpoint: async () => ({ endpointId: await webhookEndpoint() }),
  ListWebhookEndpoints: async () => ({}),
  UpdateWebhookEndpoint: async () => ({ endpointId: await webhookEndpoint(), description: 'matrix' }),
  DeleteWebhookEndpoint: async () => ({ endpointId: await webhookEndpoint() }),
  RotateWebhookSecret: async () => ({ endpointId: await webhookEndpoint() }),
  ListWebhookDeliveries: async () => ({ endpointId: await webhookEndpoint() }),
  RedeliverEvent: async () => {
    const endpointId = await webhookEndpoint();
    await invoke('CreateRoom', {}); // its ROOM_CREATED event gets a delivery to the endpoint
    const { deliveries } = (await invoke('ListWebhookDeliveries', { endpointId })) as { deliveries: { eventId: string }[] };
    return { eventId: deliveries[0]!.eventId, endpointId };
  },
  SendTestWebhookEvent: async () => ({ endpointId: await webhookEndpoint() }),
  WatchEvents: async () => ({}),
  CreateBan: async (f) => ({ identity: `banned-${f.peerId}`, roomId: f.roomId }),
  GetBan: async (f) => ({ banId: await ban(f) }),
  ListBans: async () => ({}),
  DeleteBan: async (f) => ({ banId: await ban(f) }),
  ListAuditEvents: async () => ({}),
  CreateRole: async (f) => ({ name: `r-${f.peerId}` }),
  GetRole: async (f) => ({ name: await role(f) }),
  ListRoles: async () => ({}),
  UpdateRole: async (f) => ({ name: await role(f), applyToExistingPeers: true }),
  DeleteRole: async (f) => ({ name: await role(f) }),
  CreateJoinCode: async (f) => ({ roomId: f.roomId, role: JOIN_ROLE, expireTime: inSeconds(3600).toISOString() }),
  GetJoinCode: async (f) => ({ id: (await joinCode(f)).id }),
  ListJoinCodes: async () => ({}),
  RevokeJoinCode: async (f) => ({ id: (await joinCode(f)).id }),
  RedeemJoinCode: async (f) => ({ code: (await joinCode(f)).code, displayName: 'matrix' }),
  GetJoinSettings: async () => ({}),
  UpdateJoinSettings: async () => ({ settings: { appUrls: ['https://app.example.com/join'] } }),
};

/** A role made by an admin, named after the fixture's peer. */
async function role(f: Fixture): Promise<string> {
  const created = await invoke('CreateRole', { name: `r-${f.peerId}` });
  return (created.role as Record<string, string>).name!;
}

/** The role join codes name here, made in beforeAll. */
const JOIN_ROLE = 'matrix';

/** A join code made by an admin for the fixture's room: its id and the code. */
async function joinCode(f: Fixture): Promise<{ id: string; code: string }> {
  const created = await invoke('CreateJoinCode', { roomId: f.roomId, role: JOIN_ROLE, expireTime: inSeconds(3600).toISOString() });
  return { id: (created.joinCode as Record<string, string>).id!, code: created.code as string };
}

/** A ban made by an admin, of an identity with no peer, in the fixture's room. */
async function ban(f: Fixture): Promise<string> {
  const created = await invoke('CreateBan', { identity: `banned-${f.peerId}`, roomId: f.roomId });
  return (created.ban as Record<string, string>).id!;
}

/** Calls `m` as `token` with a fresh fixture; OK or the status name. */
async function outcome(m: DescMethod, caller: 'peer' | Scope | 'no token'): Promise<Outcome> {
  const f = await fixture();
  const token = caller === 'peer' ? f.peerToken : caller === 'no token' ? null : scoped.get(caller)!;
  const json = await REQUESTS[m.name]!(f);
  if (m.methodKind === 'server_streaming') return watch(m, json, token);
  return invoke(m.name, json, token).then(
    () => 'OK',
    (err: grpc.ServiceError) => statusName(err.code),
  );
}

beforeAll(async () => {
  t = await startTestRoomgate({
    ROOMGATE_WEBHOOK_ALLOW_HTTP: 'true',
    ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    ROOMGATE_RELAY_ENABLED: 'false',
    // Each case that needs an endpoint makes a new one and keeps it.
    ROOMGATE_MAX_WEBHOOK_ENDPOINTS_PER_ENVIRONMENT: '1000',
    // Likewise for each case that needs a role.
    ROOMGATE_MAX_ROLES_PER_ENVIRONMENT: '1000',
  });
  client = new grpc.Client(t.address, grpc.credentials.createInsecure());
  admin = await t.managementToken('sandbox');
  await invoke('CreateRole', { name: JOIN_ROLE });
  for (const scope of SCOPES) scoped.set(scope, await t.managementToken('sandbox', [scope]));
});

afterAll(async () => {
  client?.close();
  await t?.close();
});

describe('the Authorization lines in the proto comments', () => {
  it('are on every RPC, parse, name only known scopes, and always admit admin', () => {
    expect(methods.length).toBeGreaterThan(20);
    for (const m of methods) {
      const rule = parseRule(m);
      expect(rule.open || rule.scopes.length > 0 || rule.peer, `${m.name}: "${rule.line}" admits no one`).toBe(true);
      for (const scope of rule.scopes) expect(SCOPES, `${m.name}: "${rule.line}"`).toContain(scope);
      if (rule.scopes.length > 0) expect(rule.scopes, `${m.name}: admin allows everything`).toContain('admin');
    }
  });

  it('have a request in this test for every RPC', () => {
    expect(Object.keys(REQUESTS).sort()).toEqual(methods.map((m) => m.name).sort());
  });
});

describe.each(methods.map((m) => [`${m.parent.name}.${m.name}`, m] as const))('%s', (_name, m) => {
  it('admits exactly the callers its Authorization line names', async () => {
    const rule = parseRule(m);
    const expected: Record<string, Outcome> = {};
    const actual: Record<string, Outcome> = {};
    for (const scope of SCOPES) {
      expected[`scope ${scope}`] = rule.open || rule.scopes.includes(scope) ? 'OK' : 'PERMISSION_DENIED';
      actual[`scope ${scope}`] = await outcome(m, scope);
    }
    expected['peer token'] = rule.open || rule.peer ? 'OK' : 'PERMISSION_DENIED';
    actual['peer token'] = await outcome(m, 'peer');
    expected['no token'] = rule.open ? 'OK' : 'UNAUTHENTICATED';
    actual['no token'] = await outcome(m, 'no token');
    expect(actual, `Authorization: ${rule.line}`).toEqual(expected);
  });
});
