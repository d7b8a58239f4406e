// Reflection and health on a real grpc-js server, checked the way grpcurl
// consumes them: a generic client, the reflection protocol's own codecs, and
// registries built only from the descriptor bytes the server returned. No
// database and no roomgate stubs are involved, so there is nothing to isolate.
import * as grpc from '@grpc/grpc-js';
import { create, createFileRegistry, fromBinary, toBinary, type DescMethod } from '@bufbuild/protobuf';
import { reflect } from '@bufbuild/protobuf/reflect';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_DESCRIPTOR_SET_BASE64 } from '../../src/gen/descriptor-set.js';
import {
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus as Status,
  HealthClient,
} from '../../src/gen/grpc/health/v1/health.js';
import { HEALTH_SERVICE_NAME, ServerHealth } from '../../src/transport/health.js';
import {
  REFLECTION_SERVICE_NAMES,
  addReflectionService,
} from '../../src/transport/reflection-service.js';
import {
  REFLECTION_HOST as HOST,
  REFLECTION_VERSIONS as VERSIONS,
  ask,
  bytesOf,
  callUnary,
  fileRequest,
  filesOf,
  leadingComment,
  outcome,
  rawFilesOfSet,
  reflectAll,
  registryFrom,
  symbolRequest,
  type ReflectionRequest as Request,
  type ReflectionResponse as Response,
} from '../support/reflection-client.js';

const ROOMGATE_SERVICES = [
  'roomgate.v1.RoomService',
  'roomgate.v1.PeerService',
  'roomgate.v1.TokenService',
  'roomgate.v1.EventService',
  'roomgate.v1.BanService',
  'roomgate.v1.AuditService',
  'roomgate.v1.RoleService',
];
const LISTED = [...ROOMGATE_SERVICES, HEALTH_SERVICE_NAME, ...REFLECTION_SERVICE_NAMES];
const JWKS = '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}';
const descriptorSet = new Uint8Array(Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64'));

let server: grpc.Server;
let health: ServerHealth;
let address: string;
let client: grpc.Client;
let jwksRequests: Buffer[];

beforeAll(async () => {
  server = new grpc.Server();
  addReflectionService(server, { descriptorSet, services: LISTED });
  health = new ServerHealth(ROOMGATE_SERVICES, 'SERVING');
  health.addToServer(server);
  jwksRequests = [];
  server.addService(getJwksDefinition(), {
    getJwks: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      jwksRequests.push(call.request);
      callback(null, jwksResponseFromServerSet());
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  address = `127.0.0.1:${port}`;
  client = new grpc.Client(address, grpc.credentials.createInsecure());
});

afterAll(() => {
  client?.close();
  // Health Watch streams stay open until the client leaves, so a graceful
  // shutdown could wait on them.
  server?.forceShutdown();
});

describe.each(VERSIONS)('reflection $name', (version) => {
  it('lists exactly the services it was given', async () => {
    const [response] = await reflectAll(client, version, [ask({ $case: 'listServices', value: '' })]);
    expect(response?.validHost).toBe(HOST);
    expect(response?.messageResponse?.$case).toBe('listServicesResponse');
    const names =
      response?.messageResponse?.$case === 'listServicesResponse'
        ? response.messageResponse.value.service.map((s) => s.name)
        : [];
    expect(new Set(names)).toEqual(new Set(LISTED));
    expect(names).toHaveLength(LISTED.length);
  });

  it('serves self-contained files that build a registry with services, imports and comments', async () => {
    const requests = ROOMGATE_SERVICES.map(symbolRequest);
    const responses = await reflectAll(client, version, requests);
    expect(responses).toHaveLength(requests.length);

    const registries = responses.map((response, i) => {
      expect(response.originalRequest).toEqual(requests[i]);
      expect(response.validHost).toBe(HOST);
      const files = filesOf(response);
      // Consumers take the first file as the one that answers the request.
      expect(files[0]?.service.map((s) => `${files[0]?.package}.${s.name}`)).toContain(
        ROOMGATE_SERVICES[i],
      );
      // Each answer alone must resolve every import; this throws otherwise.
      return registryFrom(files);
    });
    const registry = createFileRegistry(...registries);

    const tokenService = registry.getService('roomgate.v1.TokenService');
    expect(tokenService).toBeDefined();
    const getJwks = tokenService?.methods.find((m) => m.name === 'GetJwks');
    expect(getJwks?.methodKind).toBe('unary');
    expect(getJwks?.input.typeName).toBe('roomgate.v1.GetJwksRequest');
    expect(getJwks?.output.typeName).toBe('roomgate.v1.GetJwksResponse');

    const room = registry.getMessage('roomgate.v1.Room');
    const createTime = room?.fields.find((f) => f.name === 'create_time');
    expect(createTime?.message?.typeName).toBe('google.protobuf.Timestamp');
    expect(registry.getFile('google/protobuf/timestamp.proto')).toBeDefined();

    const roomService = registry.getService('roomgate.v1.RoomService');
    const createRoom = roomService?.methods.find((m) => m.name === 'CreateRoom');
    expect(createRoom).toBeDefined();
    expect(leadingComment(createRoom as DescMethod)?.trim()).toBe(
      'Creates a room. A repeated request_id returns the first result.\n Authorization: management token with scope rooms or admin.',
    );
  });

  it('finds the file of methods, nested messages, enums, enum values and fields', async () => {
    const cases: [symbol: string, file: string][] = [
      ['roomgate.v1.RoomService.CreateRoom', 'roomgate/v1/room_service.proto'],
      ['roomgate.v1.Room', 'roomgate/v1/resources.proto'],
      ['roomgate.v1.Room.create_time', 'roomgate/v1/resources.proto'],
      ['roomgate.v1.TokenInvalidReason', 'roomgate/v1/token_service.proto'],
      ['roomgate.v1.TOKEN_INVALID_REASON_EXPIRED', 'roomgate/v1/token_service.proto'],
      ['grpc.health.v1.HealthListResponse.StatusesEntry', 'grpc/health/v1/health.proto'],
      ['google.protobuf.Timestamp', 'google/protobuf/timestamp.proto'],
    ];
    const responses = await reflectAll(client, version, cases.map(([symbol]) => symbolRequest(symbol)));
    expect(responses.map((r) => filesOf(r)[0]?.name)).toEqual(cases.map(([, file]) => file));
  });

  it('serves file_by_filename byte for byte with its dependencies', async () => {
    const [timestamp, resources] = (await reflectAll(client, version, [
      fileRequest('google/protobuf/timestamp.proto'),
      fileRequest('roomgate/v1/resources.proto'),
    ])) as [Response, Response];
    const raw = rawFilesOfSet(descriptorSet);

    expect(bytesOf(timestamp)).toEqual([raw.get('google/protobuf/timestamp.proto')]);
    expect(registryFrom(filesOf(timestamp)).getMessage('google.protobuf.Timestamp')).toBeDefined();

    const resourcesFiles = filesOf(resources);
    expect(resourcesFiles.map((f) => f.name)).toEqual([
      'roomgate/v1/resources.proto',
      'google/protobuf/timestamp.proto',
    ]);
    expect(bytesOf(resources)[0]).toEqual(raw.get('roomgate/v1/resources.proto'));
    expect(resourcesFiles[0]?.sourceCodeInfo?.location.length).toBeGreaterThan(0);
  });

  it('answers NOT_FOUND for unknown files, symbols and extensions, and lists no extensions', async () => {
    const requests: Request[] = [
      symbolRequest('roomgate.v1.NoSuchService'),
      symbolRequest('roomgate.v1.RoomService.NoSuchMethod'),
      fileRequest('roomgate/v1/nope.proto'),
      ask({
        $case: 'fileContainingExtension',
        value: { containingType: 'roomgate.v1.Room', extensionNumber: 1000 },
      }),
      ask({ $case: 'allExtensionNumbersOfType', value: 'roomgate.v1.NoSuchMessage' }),
      ask({ $case: 'allExtensionNumbersOfType', value: 'roomgate.v1.Room' }),
    ];
    const responses = await reflectAll(client, version, requests);
    expect(responses.map((r) => r.originalRequest)).toEqual(requests);
    expect(responses.slice(0, 5).map(outcome)).toEqual(Array(5).fill(grpc.status.NOT_FOUND));
    for (const { messageResponse } of responses.slice(0, 5)) {
      expect(messageResponse?.$case === 'errorResponse' && messageResponse.value.errorMessage).toMatch(/not found/);
    }
    expect(responses[5]?.messageResponse).toEqual({
      $case: 'allExtensionNumbersResponse',
      value: { baseTypeName: 'roomgate.v1.Room', extensionNumber: [] },
    });
  });

  it('answers a malformed or empty request with INVALID_ARGUMENT and keeps the stream usable', async () => {
    const garbage = Buffer.from([0x1a, 0x05, 0x61]); // file_by_filename claiming 5 bytes, holding 1
    const responses = await reflectAll(client, version, [
      garbage,
      ask(undefined),
      ask({ $case: 'listServices', value: '' }),
    ]);
    expect(responses.map(outcome)).toEqual([
      grpc.status.INVALID_ARGUMENT,
      grpc.status.INVALID_ARGUMENT,
      'listServicesResponse',
    ]);
  });
});

describe('reflection under load', () => {
  it('answers many pipelined requests on one stream, in order', async () => {
    // grpcurl and IDE clients pipeline requests; each answer must pair with its
    // request by position, as the protocol has no request id.
    const requests = Array.from({ length: 500 }, (_, i) => ({
      ...symbolRequest(ROOMGATE_SERVICES[i % ROOMGATE_SERVICES.length] as string),
      host: `${i}`,
    }));
    const responses = await reflectAll(client, VERSIONS[0], requests);
    expect(responses.map((r) => r.validHost)).toEqual(requests.map((r) => r.host));
    expect(new Set(responses.map(outcome))).toEqual(new Set(['fileDescriptorResponse']));
  });
});

describe('calling a method from reflected descriptors alone', () => {
  it('builds GetJwks request and decodes the response from reflection', async () => {
    const [response] = await reflectAll(client, VERSIONS[0], [symbolRequest('roomgate.v1.TokenService.GetJwks')]);
    const registry = registryFrom(filesOf(response as Response));
    const service = registry.getService('roomgate.v1.TokenService');
    const method = service?.methods.find((m) => m.name === 'GetJwks');
    if (method === undefined) throw new Error('GetJwks not reflected');

    const request = toBinary(method.input, create(method.input));
    const reply = await callUnary(client, method, request);
    expect(jwksRequests.at(-1)).toEqual(Buffer.from(request));

    const decoded = reflect(method.output, fromBinary(method.output, reply));
    const field = method.output.fields.find((f) => f.name === 'jwks_json');
    if (field === undefined) throw new Error('jwks_json not reflected');
    expect(decoded.get(field)).toBe(JWKS);
  });
});

describe('health', () => {
  it('reports SERVING, then NOT_SERVING when told, through Check, Watch and List', async () => {
    const healthClient = new HealthClient(address, grpc.credentials.createInsecure());
    try {
      const check = (service: string) =>
        new Promise<Status>((resolve, reject) =>
          healthClient.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))),
        );
      expect(await check('')).toBe(Status.SERVING);
      expect(await check('roomgate.v1.RoomService')).toBe(Status.SERVING);
      await expect(check('roomgate.v1.NoSuchService')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });

      const watch = healthClient.watch({ service: '' });
      const seen: Status[] = [];
      const second = new Promise<void>((resolve, reject) => {
        watch.on('data', (res: HealthCheckResponse) => {
          seen.push(res.status);
          if (seen.length === 1) health.setStatus('NOT_SERVING');
          if (seen.length === 2) resolve();
        });
        watch.on('error', (err: grpc.ServiceError) => {
          if (err.code !== grpc.status.CANCELLED) reject(err);
        });
      });
      await second;
      watch.cancel();
      expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);

      expect(await check('')).toBe(Status.NOT_SERVING);
      expect(await check('roomgate.v1.TokenService')).toBe(Status.NOT_SERVING);
      const statuses = await new Promise<Record<string, HealthCheckResponse>>((resolve, reject) =>
        healthClient.list({}, (err, res) => (err ? reject(err) : resolve(res.statuses))),
      );
      expect(Object.keys(statuses).sort()).toEqual(['', ...ROOMGATE_SERVICES].sort());
      expect(Object.values(statuses).map((s) => s.status)).toEqual(
        Array(ROOMGATE_SERVICES.length + 1).fill(Status.NOT_SERVING),
      );
    } finally {
      health.setStatus('SERVING');
      healthClient.close();
    }
  });
});

/** A raw-bytes unary handler at TokenService/GetJwks, standing in for the real service. */
function getJwksDefinition(): grpc.ServiceDefinition {
  const identity = (bytes: Buffer) => bytes;
  return {
    getJwks: {
      path: '/roomgate.v1.TokenService/GetJwks',
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
}

function jwksResponseFromServerSet(): Buffer {
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet));
  const schema = registry.getMessage('roomgate.v1.GetJwksResponse');
  if (schema === undefined) throw new Error('GetJwksResponse missing from the descriptor set');
  return Buffer.from(toBinary(schema, create(schema, { jwksJson: JWKS })));
}
