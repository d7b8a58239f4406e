// The real roomgate, driven the way grpcurl drives it: `list` and `describe`
// over reflection, then `-d '{…}' -H 'authorization: Bearer …'` calls whose
// request and response types come only from the reflected descriptors. No
// generated roomgate stubs and no src/client are used; the server runs on a
// database of this file's own (see test/support/database.ts).
import * as grpc from '@grpc/grpc-js';
import { fromBinary, fromJson, toBinary, toJson, type DescMethod, type JsonValue } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REFLECTION_VERSIONS,
  ask,
  callUnary,
  filesOf,
  methodOf,
  reflectAll,
  registryFrom,
  servicesOf,
  symbolRequest,
  type ReflectionResponse,
} from '../support/reflection-client.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

/** A JSON object as toJson writes it, for reading fields in assertions. */
type JsonObject = { [key: string]: JsonValue };

const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let t: TestRoomgate;
let client: grpc.Client;
let bearer: grpc.Metadata;

beforeAll(async () => {
  t = await startTestRoomgate();
  client = new grpc.Client(t.address, grpc.credentials.createInsecure());
  bearer = new grpc.Metadata();
  bearer.set('authorization', `Bearer ${await t.managementToken()}`);
});

afterAll(async () => {
  client?.close();
  await t?.close();
});

/** `grpcurl describe <symbol>`, narrowed to one method: its service's files, strictly resolved. */
async function describeMethod(service: string, method: string): Promise<DescMethod> {
  const [response] = (await reflectAll(client, REFLECTION_VERSIONS[0], [symbolRequest(service)])) as [ReflectionResponse];
  return methodOf(registryFrom(filesOf(response)), service, method);
}

/** `grpcurl -d <json> [-H authorization] <method>`: JSON in, proto JSON out. */
async function invoke(method: DescMethod, json: JsonValue, metadata?: grpc.Metadata): Promise<JsonObject> {
  const request = toBinary(method.input, fromJson(method.input, json));
  const reply = await callUnary(client, method, request, metadata);
  return toJson(method.output, fromBinary(method.output, reply)) as JsonObject;
}

describe('grpcurl list', () => {
  it.each(REFLECTION_VERSIONS)('lists the roomgate, health and reflection services over $name', async (version) => {
    const [response] = (await reflectAll(client, version, [ask({ $case: 'listServices', value: '' })])) as [
      ReflectionResponse,
    ];
    expect(new Set(servicesOf(response))).toEqual(
      new Set([
        'roomgate.v1.RoomService',
        'roomgate.v1.PeerService',
        'roomgate.v1.TokenService',
        'roomgate.v1.EventService',
        'roomgate.v1.BanService',
        'roomgate.v1.AuditService',
        'roomgate.v1.RoleService',
        'roomgate.v1.JoinCodeService',
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ]),
    );
  });
});

describe('grpcurl describe', () => {
  it('resolves RoomService/CreateRoom from its own files, and only with every import', async () => {
    const [response] = (await reflectAll(client, REFLECTION_VERSIONS[0], [
      symbolRequest('roomgate.v1.RoomService'),
    ])) as [ReflectionResponse];
    const files = filesOf(response);
    const createRoom = methodOf(registryFrom(files), 'roomgate.v1.RoomService', 'CreateRoom');
    expect(createRoom.input.typeName).toBe('roomgate.v1.CreateRoomRequest');
    expect(createRoom.output.typeName).toBe('roomgate.v1.CreateRoomResponse');
    // Strict: without the Timestamp file the registry must not build.
    const withoutTimestamp = files.filter((f) => f.name !== 'google/protobuf/timestamp.proto');
    expect(withoutTimestamp).toHaveLength(files.length - 1);
    expect(() => registryFrom(withoutTimestamp)).toThrow(/timestamp/);
  });
});

describe('grpcurl -d on the reflected descriptors', () => {
  it('creates a room that lands in the database', async () => {
    const createRoom = await describeMethod('roomgate.v1.RoomService', 'CreateRoom');
    const { room } = await invoke(
      createRoom,
      { name: 'via-reflection', maxPeers: 3, metadata: '{"a":1}' },
      bearer,
    );
    expect(room).toMatchObject({ name: 'via-reflection', maxPeers: 3, metadata: '{"a":1}' });
    const { id, createTime } = room as JsonObject;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // A string, not a {seconds, nanos} object: the Timestamp import resolved as the WKT.
    expect(createTime).toMatch(RFC_3339);

    const { rows } = await t.db.pool.query('SELECT name FROM rooms WHERE id = $1', [id]);
    expect(rows).toEqual([{ name: 'via-reflection' }]);
  });

  it('creates a peer, verifies its token, and fetches the JWKS without credentials', async () => {
    const createRoom = await describeMethod('roomgate.v1.RoomService', 'CreateRoom');
    const { room } = await invoke(createRoom, { name: 'peers-via-reflection' }, bearer);
    const roomId = (room as JsonObject).id as string;

    const createPeer = await describeMethod('roomgate.v1.PeerService', 'CreatePeer');
    const created = await invoke(
      createPeer,
      { roomId, identity: 'alice', permissions: { canPublish: true } },
      bearer,
    );
    expect(created.peer).toMatchObject({ roomId, identity: 'alice', permissions: { canPublish: true } });
    expect(created.peerToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(created.tokenExpireTime).toMatch(RFC_3339);

    const verify = await describeMethod('roomgate.v1.TokenService', 'VerifyPeerToken');
    const verified = await invoke(verify, { token: created.peerToken as string, roomId }, bearer);
    expect(verified).toMatchObject({
      valid: true,
      claims: {
        environment: 'ENVIRONMENT_SANDBOX',
        peerId: (created.peer as JsonObject).id,
        roomId,
        identity: 'alice',
        permissions: { canPublish: true },
      },
    });
    expect(verified).not.toHaveProperty('reason');

    const getJwks = await describeMethod('roomgate.v1.TokenService', 'GetJwks');
    const { jwksJson } = await invoke(getJwks, {});
    const { keys } = JSON.parse(jwksJson as string) as { keys: { kid?: string }[] };
    expect(keys.map((k) => k.kid)).toContain((verified.claims as JsonObject).keyId);
  });

  it('refuses CreateRoom without authorization with UNAUTHENTICATED', async () => {
    const createRoom = await describeMethod('roomgate.v1.RoomService', 'CreateRoom');
    const err = await expectStatus(
      invoke(createRoom, { name: 'no-credentials' }),
      grpc.status.UNAUTHENTICATED,
      /missing credentials/,
    );
    expect(err.code).toBe(16);
    const { rows } = await t.db.pool.query("SELECT 1 FROM rooms WHERE name = 'no-credentials'");
    expect(rows).toEqual([]);
  });
});

describe('grpcurl grpc.health.v1.Health/Check', () => {
  it.each(['', 'roomgate.v1.RoomService'])('reports SERVING for %j', async (service) => {
    const check = await describeMethod('grpc.health.v1.Health', 'Check');
    expect(await invoke(check, { service })).toEqual({ status: 'SERVING' });
  });
});
