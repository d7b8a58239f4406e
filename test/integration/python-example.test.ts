// Issue 5: examples/python as a Python developer runs it. generate.sh makes the
// stubs from proto/ into a temporary directory (never the repo's gen/), and
// roomgate_example.py runs against a real `roomgate serve` process on a
// database of this file's own (createTestDatabase); what it printed is then
// checked through the TypeScript client.
//
// It needs Debian's python3-grpcio, python3-grpc-tools, protobuf-compiler,
// libprotobuf-dev and python3-jwt (examples/python/README.md says why each), used through
// /usr/bin/python3 and /usr/bin/protoc unless PYTHON or PROTOC say otherwise.
// Without them the tests skip, saying what is missing, so `npm test` passes on
// a fresh machine; with ROOMGATE_REQUIRE_PYTHON_EXAMPLE=1 (set by .ci/run) they
// fail instead.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRoomgateClient, type RoomgateClient } from '../../src/client/index.js';
import { JWKS_PATH } from '../../src/http/jwks-route.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { mintTestToken } from '../support/roomgate.js';
import { baseEnv, serveRoomgate, type RoomgateProcess } from '../support/server-process.js';

const run = promisify(execFile);
const EXAMPLE_DIR = fileURLToPath(new URL('../../examples/python/', import.meta.url));
const GENERATE = path.join(EXAMPLE_DIR, 'generate.sh');
const EXAMPLE = path.join(EXAMPLE_DIR, 'roomgate_example.py');
const PYTHON = process.env.PYTHON || '/usr/bin/python3';
const PROTOC = process.env.PROTOC || '/usr/bin/protoc';
const REQUIRED = process.env.ROOMGATE_REQUIRE_PYTHON_EXAMPLE === '1';
const WELL_KNOWN_TYPE = '/usr/include/google/protobuf/timestamp.proto';

/** What is missing to run the example, or undefined when nothing is. */
async function missingPrerequisites(): Promise<string | undefined> {
  const missing: string[] = [];
  await run(PYTHON, ['-c', 'import grpc, grpc_tools.protoc, google.protobuf']).catch(() =>
    missing.push(`${PYTHON} cannot import grpc, grpc_tools and google.protobuf (python3-grpcio, python3-grpc-tools, python3-pkg-resources)`),
  );
  await run(PYTHON, ['-c', 'import jwt, cryptography']).catch(() =>
    missing.push(`${PYTHON} cannot import jwt with its crypto backend (python3-jwt, python3-cryptography)`),
  );
  await run(PROTOC, ['--version']).catch(() => missing.push(`no ${PROTOC} (protobuf-compiler)`));
  // Debian's protoc finds the well-known types here; protobuf-compiler only recommends libprotobuf-dev.
  if (PROTOC === '/usr/bin/protoc') {
    await access(WELL_KNOWN_TYPE).catch(() => missing.push(`no ${WELL_KNOWN_TYPE} (libprotobuf-dev)`));
  }
  return missing.length > 0 ? missing.join('; ') : undefined;
}

const missing = await missingPrerequisites();
const SKIP_REASON = `needs Debian's python3-grpcio, python3-grpc-tools, protobuf-compiler, libprotobuf-dev and python3-jwt: ${missing}`;
// Said once, in the run's output: the default reporter shows no skip notes.
if (missing !== undefined && !REQUIRED) console.warn(`examples/python tests skipped: ${SKIP_REASON}`);

/** How a run of the example ended. */
interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs roomgate_example.py with only `env` on top of PATH and HOME. */
async function runExample(env: Record<string, string>): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(PYTHON, [EXAMPLE], { env: { ...baseEnv, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('examples/python against a live roomgate serve', () => {
  let db: TestDatabase;
  let server: RoomgateProcess;
  let client: RoomgateClient;
  let admin: string;
  let gen: string;
  let generated: string;

  beforeAll(async () => {
    if (missing !== undefined) return;
    gen = await mkdtemp(path.join(tmpdir(), 'roomgate-python-'));
    generated = (await run('bash', [GENERATE, gen], { env: { ...baseEnv, PYTHON, PROTOC } })).stdout;
    db = await createTestDatabase();
    server = await serveRoomgate({
      DATABASE_URL: db.connectionString,
      ROOMGATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ROOMGATE_SHUTDOWN_GRACE_SECONDS: '1',
    });
    admin = await mintTestToken(db.pool);
    client = createRoomgateClient(server.address, { token: admin, deadlineMs: 5_000 });
  });

  afterAll(async () => {
    client?.close();
    await server?.stop();
    await db?.drop();
    if (gen) await rm(gen, { recursive: true, force: true });
  });

  // Thrown per test rather than from beforeAll, so that each counts as failed, not skipped.
  beforeEach((ctx) => {
    if (missing === undefined) return;
    if (REQUIRED) throw new Error(`ROOMGATE_REQUIRE_PYTHON_EXAMPLE=1, but ${missing}`);
    ctx.skip(SKIP_REASON);
  });

  const example = (env: Record<string, string>) =>
    runExample({ ROOMGATE_ADDRESS: server.address, ROOMGATE_JWKS_URL: `${server.httpUrl}${JWKS_PATH}`, ROOMGATE_GEN_DIR: gen, ...env });

  it('generate.sh writes message classes and stubs for every roomgate.v1 file, with proto3 optional presence', async () => {
    expect(generated).toMatch(/^generated 22 modules into .+ \(libprotoc \d+\.\d+/);
    // The google.rpc error model, which Debian packages neither as grpcio-status nor as googleapis-common-protos.
    expect((await readdir(path.join(gen, 'google', 'rpc'))).sort()).toEqual([
      'error_details_pb2.py',
      'error_details_pb2.pyi',
      'status_pb2.py',
      'status_pb2.pyi',
    ]);
    const files = (await readdir(path.join(gen, 'roomgate', 'v1'))).sort();
    for (const name of ['events', 'resources', 'room_service', 'peer_service', 'token_service', 'event_service', 'ban_service', 'audit_service']) {
      expect(files).toEqual(expect.arrayContaining([`${name}_pb2.py`, `${name}_pb2.pyi`, `${name}_pb2_grpc.py`]));
    }
    // UpdateRoom tells "not set" from 0 only if the message classes know proto3 `optional`.
    const { stdout } = await run(
      PYTHON,
      [
        '-c',
        `from roomgate.v1 import room_service_pb2 as r
m = r.UpdateRoomRequest(room_id="x")
print(m.HasField("max_peers"), end=" ")
m.max_peers = 0
print(m.HasField("max_peers"), m.SerializeToString().hex())`,
      ],
      { env: { ...baseEnv, PYTHONPATH: gen } },
    );
    expect(stdout.trim()).toBe('False True 0a01781800');
  });

  it('creates a room and a peer, verifies the peer token online and offline (PyJWKClient on the JWKS URL), and shows errors with their ErrorInfo reason and BadRequest field', async () => {
    const before = (await client.rooms.listRooms({ pageSize: 100 })).rooms.length;
    const { code, stdout, stderr } = await example({ ROOMGATE_TOKEN: admin });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    const [, roomId, roomName] = lines[0]!.match(/^created room ([0-9a-f-]{36}) \(name (python-example-[0-9a-f]{8}), max_peers 10\)$/) ?? [];
    expect(roomId, lines[0]).toBeDefined();
    const [, peerId] = lines[1]!.match(/^created peer ([0-9a-f-]{36}) \(identity user-123\) with a peer token that expires at \S+Z$/) ?? [];
    expect(peerId, lines[1]).toBeDefined();
    expect(lines[2]).toBe(`verified the peer token: valid for peer ${peerId} in room ${roomId}, can_publish=True can_subscribe=True`);
    const { keys } = JSON.parse((await client.tokens.getJwks({})).jwksJson) as { keys: { kid: string }[] };
    expect(keys).toHaveLength(1);
    expect(lines[3]).toBe(
      `verified the peer token offline with the keys at ${server.httpUrl}${JWKS_PATH}: peer ${peerId} in room ${roomId}, key ${keys[0]!.kid}, can_publish=True`,
    );
    expect(lines[4]).toBe('GetRoom of a random id failed as expected: NOT_FOUND: room not found (reason ERR_ROOM_NOT_FOUND)');
    expect(lines[5]).toBe(
      'CreateRoom with max_peers 3000000000 failed as expected: INVALID_ARGUMENT: ' +
        'max_peers: must be between 0 (unlimited) and 2147483647 (reason ERR_INVALID_ARGUMENT, field max_peers)',
    );
    // Only the first room was created.
    expect((await client.rooms.listRooms({ pageSize: 100 })).rooms).toHaveLength(before + 1);

    // What the example printed is really in roomgate.
    const { room } = await client.rooms.getRoom({ roomId: roomId! });
    expect(room).toMatchObject({ id: roomId, name: roomName, maxPeers: 10, peerCount: 1 });
    expect(JSON.parse(room!.metadata)).toEqual({ topic: 'daily' });
    const { peer } = await client.peers.getPeer({ roomId: roomId!, peerId: peerId! });
    expect(peer).toMatchObject({ id: peerId, roomId, identity: 'user-123', name: 'John' });
    expect(peer!.permissions).toEqual({
      canPublish: true,
      canSubscribe: true,
      canUpdateMetadata: false,
      canUpdateRoom: false,
      canRemoveParticipants: false,
    });
  });

  it('exits 1 with the status and error code when the token is unknown or lacks a scope, and creates nothing', async () => {
    const before = (await client.rooms.listRooms({ pageSize: 100 })).rooms.length;

    const unknown = await example({ ROOMGATE_TOKEN: `rg_sandbox_${randomUUID().replaceAll('-', '')}` });
    expect(unknown).toEqual({
      code: 1,
      stdout: '',
      stderr: 'roomgate call failed: UNAUTHENTICATED: invalid, expired or revoked credentials (reason ERR_UNAUTHENTICATED)\n',
    });

    const reader = await mintTestToken(db.pool, { scopes: ['read'] });
    const denied = await example({ ROOMGATE_TOKEN: reader });
    expect(denied.code).toBe(1);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(/^roomgate call failed: PERMISSION_DENIED: .+ \(reason ERR_PERMISSION_DENIED\)\n$/);

    expect((await client.rooms.listRooms({ pageSize: 100 })).rooms).toHaveLength(before);
  });

  it('exits 1, saying why, when the keys cannot be fetched from the JWKS URL', async () => {
    const url = `${server.httpUrl}/no-such-path`;
    const outcome = await example({ ROOMGATE_TOKEN: admin, ROOMGATE_JWKS_URL: url });
    expect(outcome.code).toBe(1);
    expect(outcome.stdout.split('\n')[2]).toMatch(/^verified the peer token: valid/);
    expect(outcome.stderr).toBe(
      `offline verification with the keys at ${url} failed: PyJWKClientError: Fail to fetch data from the url, err: "HTTP Error 404: Not Found"\n`,
    );
  });

  it('exits 2 and says what to set when ROOMGATE_TOKEN is missing', async () => {
    const outcome = await example({});
    expect(outcome.code).toBe(2);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toMatch(/^set ROOMGATE_TOKEN to a management token/);
  });
});
