// Issue 7's fuzz test: mutated protobuf requests and mutated tokens against a
// real `roomgate serve` process (the compiled dist/, so `npm run build` first)
// on a database of this file's own (createTestDatabase, see database.ts).
//
//   ROOMGATE_FUZZ_SEED=123 ROOMGATE_FUZZ_CASES=50000 npx vitest run test/integration/fuzz.test.ts
//
// The seed is random unless given, and printed first. Each case is one call to
// an RPC of the generated service definitions; what it sends comes from its
// own generator (caseRng(seed, index)), so a seed replays the same choices. The
// ids and tokens inside are the ones this run's server made, so a failure also
// prints the case's bytes. Three cases in four send a valid request of the RPC,
// mutated at the byte or field level (test/support/fuzz.ts), as raw bytes
// through grpc-js with identity serializers, under a valid admin management
// token. The rest send a valid request under a mutated peer or management
// token; values grpc-js will not send (non-ASCII, control characters) go over
// plain HTTP/2.
//
// Every case must be answered before its deadline, and the server must stay up
// and SERVING. INTERNAL is allowed in one place only: grpc-js answers INTERNAL
// "Error deserializing request" for a body that does not parse, before any
// roomgate code runs. The test tells the two apart twice over. It decodes each
// body itself with the server's own deserializers (withStrictUtf8 over the
// generated codecs); and an answer comes from roomgate's handler when it
// carries what only the handler sends: the x-request-id header that the unary
// adapter sends first, or the roomgate-error-code trailer of every roomgate
// error (WatchEvents). A body that decodes must reach the handler, one that
// does not must get grpc-js's INTERNAL, and the handler must never answer
// INTERNAL or UNKNOWN, nor log "rpc failed" (its INTERNAL, with the cause).
//
// Cases run in concurrent batches of 16, with the database fingerprinted
// (db-fingerprint.ts) around each. A batch with no accepted call must change
// no row; its sequences may advance only by its ALREADY_EXISTS answers (see
// forbiddenChanges). A batch in which some call was accepted changed the
// database legitimately, so its rejected cases are sent again, alone, between
// two fingerprints. Nothing else writes meanwhile: the webhook relay is off,
// the purge timer is an hour, and the fixtures are repaired only between
// batches.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import { Client, credentials, Metadata, status, type StatusObject } from '@grpc/grpc-js';
import type { DescMessage } from '@bufbuild/protobuf';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoomgateClient, type RoomgateClient } from '../../src/client/index.js';
import { HealthCheckRequest, HealthCheckResponse, HealthCheckResponse_ServingStatus } from '../../src/gen/grpc/health/v1/health.js';
import * as auditMessages from '../../src/gen/roomgate/v1/audit_service.js';
import * as roleMessages from '../../src/gen/roomgate/v1/role_service.js';
import * as banMessages from '../../src/gen/roomgate/v1/ban_service.js';
import * as eventMessages from '../../src/gen/roomgate/v1/event_service.js';
import * as joinCodeMessages from '../../src/gen/roomgate/v1/join_code_service.js';
import * as peerMessages from '../../src/gen/roomgate/v1/peer_service.js';
import { ManagementScope } from '../../src/gen/roomgate/v1/resources.js';
import * as roomMessages from '../../src/gen/roomgate/v1/room_service.js';
import * as tokenMessages from '../../src/gen/roomgate/v1/token_service.js';
import { ROOMGATE_SERVICE_NAMES } from '../../src/transport/server.js';
import { ERROR_CODE_TRAILER } from '../../src/transport/status.js';
import { withStrictUtf8 } from '../../src/transport/strict-utf8.js';
import { REQUEST_ID_HEADER } from '../../src/transport/unary.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { dbFingerprint, type DbFingerprint } from '../support/db-fingerprint.js';
import {
  caseRng,
  descriptorRegistry,
  hexDump,
  mutateAuthorization,
  mutateRequest,
  validRequest,
  type FieldValues,
  type Rng,
} from '../support/fuzz.js';
import { mintTestToken } from '../support/roomgate.js';
import { serveRoomgate, type RoomgateProcess } from '../support/server-process.js';

/** A whole number from the environment, or `fallback`; anything else stops the run. */
function knob(name: string, fallback: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${name} must be a whole number from 0 to ${max}, not ${JSON.stringify(raw)}`);
  return n;
}

const SEED = knob('ROOMGATE_FUZZ_SEED', randomInt(2 ** 32 - 1), 2 ** 32 - 1);
const CASES = knob('ROOMGATE_FUZZ_CASES', 2_000, 10_000_000);
/** Calls in flight at once; each batch is fingerprinted as a whole. */
const BATCH = 16;
const DEADLINE_MS = 10_000;
/** Share of cases that send a valid request under a mutated authorization value. */
const TOKEN_SHARE = 0.25;

/** One RPC, as the server registers it. */
interface Method {
  path: string;
  streaming: boolean;
  input: DescMessage;
  /** The server's own request deserializer: throws where grpc-js answers INTERNAL. */
  decode: (body: Buffer) => unknown;
}

/** Every method of every service definition exported by the generated roomgate modules. */
function roomgateMethods(): { services: string[]; methods: Method[] } {
  const registry = descriptorRegistry();
  const services: string[] = [];
  const methods: Method[] = [];
  for (const module of [roomMessages, peerMessages, tokenMessages, eventMessages, banMessages, auditMessages, joinCodeMessages, roleMessages] as Record<string, unknown>[]) {
    for (const [name, value] of Object.entries(module)) {
      if (!name.endsWith('Service') || typeof value !== 'object' || value === null) continue;
      const service = withStrictUtf8(value as Parameters<typeof withStrictUtf8>[0], module);
      for (const definition of Object.values(service)) {
        const [serviceName, methodName] = definition.path.slice(1).split('/') as [string, string];
        if (!services.includes(serviceName)) services.push(serviceName);
        const input = registry.getService(serviceName)?.methods.find((m) => m.name === methodName)?.input;
        if (!input) throw new Error(`${definition.path} is not in the descriptor set`);
        methods.push({ path: definition.path, streaming: definition.responseStream, input, decode: definition.requestDeserialize });
      }
    }
  }
  return { services, methods };
}

/** The rows every case can name, rebuilt when an accepted call deletes one. */
interface Fixtures {
  roomId: string;
  peerId: string;
  peerToken: string;
  endpointId: string;
  eventId: string;
  /** A read-only management token that RevokeManagementToken requests name; never the admin one. */
  victimTokenId: string;
  /** An environment-wide ban of an identity no case uses, which GetBan and DeleteBan requests name. */
  banId: string;
}

interface FuzzCase {
  index: number;
  method: Method;
  body: Buffer;
  authorization: string;
  /** What was mutated. */
  label: string;
  tokenCase: boolean;
  /** Whether the server's deserializer takes the body (decided here, before sending). */
  decodable: boolean;
}

interface Outcome {
  code: status;
  details: string;
  /** The response carries what only roomgate's handler sends (see the header comment). */
  fromRoomgate: boolean;
  errorCode?: string;
  /** A WatchEvents stream that opened; the test cancels it. */
  opened?: boolean;
  /** The client library refused to send the authorization value; nothing reached the server. */
  unsendable?: string;
  via: 'grpc-js' | 'http2';
}

let db: TestDatabase;
let server: RoomgateProcess;
let raw: Client;
let h2: http2.ClientHttp2Session;
let rg: RoomgateClient;
let admin: string;
let fixtures: Fixtures;
const { services, methods } = roomgateMethods();

const isLegalGrpcJsValue = (value: string) => /^[ -~]*$/.test(value);
const firstString = (md: Metadata | undefined, key: string) => {
  const [v] = md?.get(key) ?? [];
  return typeof v === 'string' ? v : undefined;
};

function outcomeOf(s: StatusObject, headers: Metadata | undefined, opened: boolean): Outcome {
  const errorCode = firstString(s.metadata, ERROR_CODE_TRAILER);
  const requestId = firstString(headers, REQUEST_ID_HEADER) ?? firstString(s.metadata, REQUEST_ID_HEADER);
  return { code: s.code, details: s.details, errorCode, opened, fromRoomgate: requestId !== undefined || errorCode !== undefined || opened, via: 'grpc-js' };
}

/** Sends `body` untouched (identity serializers) over grpc-js; an opened stream is cancelled once it stays open a moment. */
function callGrpcJs(c: FuzzCase): Promise<Outcome> {
  const metadata = new Metadata();
  metadata.set('authorization', c.authorization);
  const options = { deadline: Date.now() + DEADLINE_MS };
  const identity = (b: Buffer) => b;
  return new Promise((resolve) => {
    let headers: Metadata | undefined;
    let opened = false;
    const call = c.method.streaming
      ? raw.makeServerStreamRequest(c.method.path, identity, identity, c.body, metadata, options)
      : raw.makeUnaryRequest(c.method.path, identity, identity, c.body, metadata, options, () => undefined);
    call.on('metadata', (m: Metadata) => {
      headers = m;
      if (c.method.streaming) {
        setTimeout(() => {
          opened = true;
          call.cancel();
        }, 50);
      }
    });
    call.on('data', () => undefined);
    call.on('error', () => undefined);
    call.on('status', (s: StatusObject) => resolve(outcomeOf(s, headers, opened && s.code === status.CANCELLED)));
  });
}

/**
 * grpc-js refuses to send an authorization value outside printable ASCII, and
 * a real attacker is not bound by that: such values go over plain HTTP/2, as
 * UTF-8 bytes (Node writes a header string's characters as single bytes).
 */
function callHttp2(c: FuzzCase): Promise<Outcome> {
  return new Promise((resolve) => {
    // A connection the server ended (GOAWAY) is replaced, so that no case passes for want of one.
    if (h2.closed || h2.destroyed) h2 = connectHttp2();
    let request: http2.ClientHttp2Stream;
    try {
      request = h2.request({
        ':method': 'POST',
        ':path': c.method.path,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${DEADLINE_MS}m`,
        authorization: Buffer.from(c.authorization, 'utf8').toString('latin1'),
      });
    } catch (err) {
      // Node refuses some header values itself (a NUL, a line break); anything else is the test's failure.
      const code = (err as { code?: string }).code;
      if (code !== 'ERR_INVALID_CHAR' && code !== 'ERR_HTTP2_INVALID_HEADER_VALUE') throw err;
      resolve({ code: status.OK, details: '', fromRoomgate: false, unsendable: code, via: 'http2' });
      return;
    }
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(c.body.length, 1);
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let opened = false;
    const giveUp = setTimeout(() => request.close(http2.constants.NGHTTP2_CANCEL), DEADLINE_MS + 2_000);
    request.on('response', (h) => {
      headers = h;
      if (h['grpc-status'] === undefined && c.method.streaming) {
        setTimeout(() => {
          opened = true;
          request.close(http2.constants.NGHTTP2_CANCEL);
        }, 50);
      }
    });
    request.on('trailers', (t) => (trailers = t));
    request.on('error', () => undefined);
    request.on('close', () => {
      clearTimeout(giveUp);
      const code = trailers['grpc-status'] ?? headers['grpc-status'];
      const errorCode = (trailers[ERROR_CODE_TRAILER] ?? headers[ERROR_CODE_TRAILER]) as string | undefined;
      const fromRoomgate = headers[REQUEST_ID_HEADER] !== undefined || errorCode !== undefined || opened;
      if (code === undefined && !opened) {
        const details = `stream closed without a gRPC status (HTTP/2 error ${request.rstCode})`;
        resolve({ code: request.rstCode ? status.INTERNAL : status.DEADLINE_EXCEEDED, details, fromRoomgate, via: 'http2' });
        return;
      }
      const details = decodeURIComponent(String(trailers['grpc-message'] ?? headers['grpc-message'] ?? ''));
      resolve({ code: opened ? status.OK : (Number(code) as status), details, errorCode, opened, fromRoomgate, via: 'http2' });
    });
    request.end(Buffer.concat([prefix, c.body]));
    request.resume();
  });
}

function connectHttp2(): http2.ClientHttp2Session {
  const session = http2.connect(`http://${server.address}`);
  session.on('error', () => undefined);
  return session;
}

const send = (c: FuzzCase) => (isLegalGrpcJsValue(c.authorization) ? callGrpcJs(c) : callHttp2(c));
const accepted = (o: Outcome) => !o.unsendable && (o.code === status.OK || o.opened === true);

/** What a case must not do; undefined when it behaved. */
function violation(c: FuzzCase, o: Outcome): string | undefined {
  if (o.unsendable) return undefined;
  if (o.code === status.DEADLINE_EXCEEDED) return `no answer within ${DEADLINE_MS} ms`;
  if (o.fromRoomgate) {
    if (o.code === status.INTERNAL || o.code === status.UNKNOWN) return "roomgate's handler answered INTERNAL or UNKNOWN";
    if (!c.decodable) return "roomgate's handler ran although the server's deserializer rejects this body";
    if (o.code !== status.OK && !o.opened && !o.errorCode) return 'a roomgate error without the roomgate-error-code trailer';
    return undefined;
  }
  // Refused before any roomgate code ran: by grpc-js, or by HTTP/2 for a header value.
  if (o.code === status.RESOURCE_EXHAUSTED && /larger than max/.test(o.details)) return undefined;
  if (o.code === status.INTERNAL && /^Error deserializing request/.test(o.details)) {
    return c.decodable ? "grpc-js could not deserialize a body that the server's deserializer takes" : undefined;
  }
  if (c.tokenCase && o.code === status.INTERNAL && /RST_STREAM|HTTP\/2 error/.test(o.details)) return undefined;
  return `answered ${status[o.code]} without reaching roomgate's handler`;
}

/** What to print so that a case can be found again and replayed. */
function describeCase(c: FuzzCase, o?: Outcome): string {
  const code = o && (o.unsendable ? `not sent (${o.unsendable})` : `${status[o.code]} ${JSON.stringify(o.details)} error-code=${o.errorCode ?? '-'} from-roomgate=${o.fromRoomgate}`);
  return [
    `case ${c.index}: ${c.method.path}${c.tokenCase ? ' (mutated authorization)' : ''}`,
    `  mutation: ${c.label}`,
    `  authorization: ${JSON.stringify(c.authorization.length > 300 ? `${c.authorization.slice(0, 300)}… (${c.authorization.length} chars)` : c.authorization)}`,
    `  decodable: ${c.decodable}${code ? `; outcome: ${code} via ${o!.via}` : ''}`,
    `  body (${c.body.length} bytes):`,
    hexDump(c.body, 1024).replace(/^/gm, '    '),
  ].join('\n');
}

/** The server's "rpc failed" log lines: INTERNAL answers of roomgate's handlers, with their causes. */
const internalErrors = (log: string) => log.split('\n').filter((line) => line.includes('"msg":"rpc failed"'));

function fail(what: string, cases: { c: FuzzCase; o?: Outcome }[]): never {
  const report = [
    `fuzz failure: ${what}`,
    `seed ${SEED}; replay with ROOMGATE_FUZZ_SEED=${SEED} ROOMGATE_FUZZ_CASES=${Math.max(...cases.map((x) => x.c.index)) + 1} npx vitest run test/integration/fuzz.test.ts`,
    ...cases.map((x) => describeCase(x.c, x.o)),
    `the server's last internal errors:\n${internalErrors(server.stdout()).slice(-5).join('\n') || '(none logged)'}`,
  ].join('\n');
  console.error(report);
  throw new Error(report);
}

const uuidFrom = (rng: Rng) => {
  const hex = rng.bytes(16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
};

/** Request field values by name: mostly the fixtures, so that calls reach the domain and not only validation. */
const fieldValues = (): FieldValues => ({
  roomId: (r) => (r.chance(0.9) ? fixtures.roomId : uuidFrom(r)),
  peerId: (r) => (r.chance(0.9) ? fixtures.peerId : uuidFrom(r)),
  endpointId: (r) => (r.chance(0.9) ? fixtures.endpointId : uuidFrom(r)),
  banId: (r) => (r.chance(0.9) ? fixtures.banId : uuidFrom(r)),
  reason: (r) => r.pick(['', 'fuzz']),
  durationSeconds: (r) => r.pick([0, 60]),
  eventId: () => fixtures.eventId,
  id: () => fixtures.victimTokenId,
  token: () => fixtures.peerToken,
  metadata: (r) => r.pick(['', '{}', '{"topic":"fuzz"}']),
  clientMetadata: (r) => r.pick(['', '{}', '{"hand":"up"}']),
  url: () => 'https://1.1.1.1/fuzz',
  name: (r) => `fuzz-${r.int(1_000_000)}`,
  identity: (r) => `user-${r.int(1_000_000)}`,
  requestId: (r) => r.pick(['', 'fuzz-retry', `fuzz-${r.int(1_000_000)}`]),
  description: () => 'fuzz',
  pageSize: (r) => r.between(0, 20),
  pageToken: () => '',
  afterCursor: () => '',
  tokenTtlSeconds: (r) => r.pick([0, 60, 3600]),
  maxPeers: (r) => r.pick([0, 0, 100]),
  graceSeconds: (r) => r.pick([0, 60]),
  prepublishSeconds: (r) => r.pick([0, 3600]),
});

/** Case `index` of this run: which RPC, its bytes and its authorization all come from caseRng(SEED, index). */
function makeCase(index: number, values: FieldValues): FuzzCase {
  const rng = caseRng(SEED, index);
  const method = rng.pick(methods);
  const valid = validRequest(method.input, values, rng);
  const tokenCase = rng.chance(TOKEN_SHARE);
  let body = valid;
  let authorization = `Bearer ${admin}`;
  let label: string;
  if (tokenCase) {
    const base = rng.chance(0.5) ? fixtures.peerToken : admin;
    ({ authorization, label } = mutateAuthorization(base, rng));
    label = `${base === admin ? 'admin management token' : 'peer token'}: ${label}`;
  } else {
    const other = () => {
      const m = rng.pick(methods);
      return validRequest(m.input, values, rng);
    };
    ({ bytes: body, label } = mutateRequest(valid, method.input, rng, other));
  }
  let decodable = true;
  try {
    method.decode(body);
  } catch {
    decodable = false;
  }
  return { index, method, body, authorization, label, tokenCase, decodable };
}

async function createFixtures(): Promise<Fixtures> {
  const as = { token: admin };
  const roomId = (await rg.rooms.createRoom({ metadata: '{"fixture":true}' }, as)).room!.id;
  const permissions = { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true };
  const peer = await rg.peers.createPeer({ roomId, permissions }, as);
  const endpoint = await rg.events.createWebhookEndpoint({ url: 'https://1.1.1.1/fixture' }, as);
  const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM events ORDER BY position DESC LIMIT 1');
  const victim = fixtures?.victimTokenId ?? (await rg.tokens.createManagementToken({ name: 'fuzz-victim', scopes: [ManagementScope.MANAGEMENT_SCOPE_READ] }, as)).managementToken!.id;
  const ban = (await rg.bans.createBan({ identity: `fuzz-banned-${randomUUID()}` }, as)).ban!;
  return {
    roomId,
    peerId: peer.peer!.id,
    peerToken: peer.peerToken,
    endpointId: endpoint.endpoint!.id,
    eventId: rows[0]!.id,
    victimTokenId: victim,
    banId: ban.id,
  };
}

/**
 * After accepted calls: rebuilds the fixtures when the room, peer or endpoint
 * is gone, re-issues the peer token when UpdatePeer has superseded it (its gen
 * claim is behind the peer's generation), and deletes the webhook endpoints
 * that cases created, through the API so that the server's caches follow.
 * Every event adds a delivery per matching endpoint, so without that the
 * database, and each fingerprint of it, would grow with the square of the
 * cases. Returns whether it wrote.
 */
async function tidyFixtures(): Promise<boolean> {
  const { rows } = await db.pool.query<{ generation: number | null; endpoint: boolean; ban: boolean; extra: string[] }>(
    `SELECT (SELECT generation FROM peers WHERE id = $2 AND room_id = $1) AS generation,
            EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = $3) AS endpoint,
            EXISTS (SELECT 1 FROM bans WHERE id = $4) AS ban,
            ARRAY(SELECT id::text FROM webhook_endpoints WHERE id <> $3) AS extra`,
    [fixtures.roomId, fixtures.peerId, fixtures.endpointId, fixtures.banId],
  );
  const { generation, endpoint, ban, extra } = rows[0]!;
  for (const endpointId of extra) await rg.events.deleteWebhookEndpoint({ endpointId }, { token: admin });
  if (generation === null || !endpoint || !ban) {
    fixtures = await createFixtures();
    return true;
  }
  if (decodeJwt(fixtures.peerToken).gen === generation) return extra.length > 0;
  fixtures.peerToken = (await rg.tokens.issuePeerToken({ roomId: fixtures.roomId, peerId: fixtures.peerId }, { token: admin })).peerToken;
  return true;
}

function changedKeys(before: DbFingerprint, after: DbFingerprint): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]);
}

/**
 * What in `after` a batch of rejected calls may not have changed; empty when
 * nothing. No row may change. A sequence may advance by as many values as the
 * batch got ALREADY_EXISTS answers: Postgres takes an identity value before
 * the unique constraint refuses the INSERT, and roomgate leaves uniqueness to
 * the constraint (23505 is ALREADY_EXISTS), so that call used one up.
 */
function forbiddenChanges(before: DbFingerprint, after: DbFingerprint, alreadyExists: number): string[] {
  const changed = changedKeys(before, after);
  const value = (v: string | undefined) => (v === undefined || v === 'unused' ? 0 : Number(v));
  const used = changed.filter((k) => k.startsWith('sequence ')).reduce((n, k) => n + value(after[k]) - value(before[k]), 0);
  const allowed = changed.every((k) => k.startsWith('sequence ')) && used <= alreadyExists;
  return allowed ? [] : changed.map((k) => `${k}: ${before[k] ?? '-'} -> ${after[k] ?? '-'}`);
}

async function expectServing(): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) {
    throw new Error(`roomgate exited (${server.child.exitCode ?? server.child.signalCode})\n${server.stderr()}\n${server.stdout().slice(-4000)}`);
  }
  const response = await new Promise<HealthCheckResponse>((resolve, reject) => {
    raw.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (m: HealthCheckRequest) => Buffer.from(HealthCheckRequest.encode(m).finish()),
      (b: Buffer) => HealthCheckResponse.decode(b),
      { service: '' },
      new Metadata(),
      { deadline: Date.now() + DEADLINE_MS },
      (err, res) => (err ? reject(err) : resolve(res!)),
    );
  });
  expect(response.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
}

beforeAll(async () => {
  console.log(`fuzz: seed ${SEED}, ${CASES} cases (ROOMGATE_FUZZ_SEED=${SEED} ROOMGATE_FUZZ_CASES=${CASES} to replay)`);
  db = await createTestDatabase();
  server = await serveRoomgate({
    DATABASE_URL: db.connectionString,
    ROOMGATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ROOMGATE_RELAY_ENABLED: 'false',
    ROOMGATE_PURGE_INTERVAL_MS: '3600000',
    ROOMGATE_SHUTDOWN_GRACE_SECONDS: '1',
  });
  raw = new Client(server.address, credentials.createInsecure());
  h2 = connectHttp2();
  rg = createRoomgateClient(server.address);
  admin = await mintTestToken(db.pool);
  fixtures = await createFixtures();
});

afterAll(async () => {
  raw?.close();
  h2?.close();
  rg?.close();
  await server?.stop();
  await db?.drop();
});

/** What the run saw, for the summary it prints. */
class Tally {
  readonly started = Date.now();
  readonly answers = new Map<string, number>();
  /** Decodable cases answered before roomgate's handler, by why. */
  readonly refusedBefore = new Map<string, number>();
  /** Mutated authorization values that were accepted (GetJwks, which takes no token, aside). */
  readonly acceptedTokens: string[] = [];
  accepted = 0;
  undecodable = 0;
  unsendable = 0;
  /** Rejected cases checked in a batch of their own: first sending, second sending. */
  checked = 0;
  checkedAgain = 0;
  unchecked = 0;
  sequenceOnly = 0;
  tidied = 0;

  record(cases: FuzzCase[], outcomes: Outcome[]): void {
    cases.forEach((c, i) => {
      const o = outcomes[i]!;
      const name = o.unsendable ? 'NOT_SENT' : o.opened ? 'STREAM_OPENED' : status[o.code];
      this.answers.set(name, (this.answers.get(name) ?? 0) + 1);
      if (accepted(o)) this.accepted++;
      if (o.unsendable) this.unsendable++;
      if (!c.decodable) this.undecodable++;
      else if (!o.fromRoomgate && !o.unsendable) {
        const why = o.code === status.RESOURCE_EXHAUSTED ? 'too large' : `${status[o.code]} ${o.details} (${o.via})`;
        this.refusedBefore.set(why, (this.refusedBefore.get(why) ?? 0) + 1);
      }
      if (accepted(o) && c.tokenCase && !c.method.path.endsWith('/GetJwks')) this.acceptedTokens.push(`${c.method.path}: ${c.label}`);
    });
  }

  summary(): string {
    const list = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join('; ') || 'none';
    return [
      `fuzz: seed ${SEED}, ${CASES} cases in ${((Date.now() - this.started) / 1000).toFixed(1)} s over ${methods.length} RPCs`,
      `  answers: ${list(this.answers)}`,
      `  accepted ${this.accepted}; refused by grpc-js's deserializer ${this.undecodable}; not sendable ${this.unsendable}`,
      `  decodable but refused before roomgate's handler: ${list(this.refusedBefore)}`,
      `  rejected and found to change nothing: ${this.checked} in all-rejected batches, ${this.checkedAgain} sent again alone; unchecked ${this.unchecked}`,
      `  batches that used up sequence values (ALREADY_EXISTS) and changed no row: ${this.sequenceOnly}`,
      `  batches after which fixtures were rebuilt, the peer token re-issued or endpoints deleted: ${this.tidied}`,
      `  mutated authorization values accepted: ${this.acceptedTokens.length ? `\n    ${this.acceptedTokens.slice(0, 20).join('\n    ')}` : 'none'}`,
    ].join('\n');
  }
}

/** How much of the server's log {@link sendAll} has read. */
let logRead = 0;

/** Sends the cases at once and checks each answer, and what the server logged since the last look. */
async function sendAll(cases: FuzzCase[]): Promise<Outcome[]> {
  const outcomes = await Promise.all(cases.map(send));
  cases.forEach((c, i) => {
    const problem = violation(c, outcomes[i]!);
    if (problem) fail(problem, [{ c, o: outcomes[i] }]);
  });
  const log = server.stdout();
  if (internalErrors(log.slice(logRead)).length) fail('roomgate logged an internal error', cases.map((c, i) => ({ c, o: outcomes[i] })));
  logRead = log.length;
  return outcomes;
}

/**
 * Runs one batch. `fingerprint` is the database before it; returns the
 * database after it. A batch with no accepted call must not have changed it.
 * Otherwise the fixtures are tidied and the rejected cases are sent again on
 * their own, between two fingerprints.
 */
async function runBatch(cases: FuzzCase[], fingerprint: DbFingerprint, tally: Tally): Promise<DbFingerprint> {
  const outcomes = await sendAll(cases);
  tally.record(cases, outcomes);
  const rejected = cases.filter((_, i) => !accepted(outcomes[i]!));
  const taken = (os: Outcome[]) => os.filter((o) => o.code === status.ALREADY_EXISTS && !o.unsendable).length;
  if (rejected.length === cases.length) {
    const after = await dbFingerprint(db.pool);
    const forbidden = forbiddenChanges(fingerprint, after, taken(outcomes));
    if (forbidden.length) fail(`the database changed in a batch of rejected calls: ${forbidden.join('; ')}`, cases.map((c, i) => ({ c, o: outcomes[i] })));
    if (changedKeys(fingerprint, after).length) tally.sequenceOnly++;
    tally.checked += cases.length;
    return after;
  }
  if (await tidyFixtures()) tally.tidied++;
  const before = await dbFingerprint(db.pool);
  if (rejected.length === 0) return before;
  const again = await sendAll(rejected);
  const after = await dbFingerprint(db.pool);
  if (again.some(accepted)) {
    // Accepted this time (the fixtures changed in between): the rest go unchecked.
    tally.unchecked += again.filter((o) => !accepted(o)).length;
    if (await tidyFixtures()) tally.tidied++;
    return dbFingerprint(db.pool);
  }
  const forbidden = forbiddenChanges(before, after, taken(again));
  if (forbidden.length) fail(`the database changed when rejected calls were sent again: ${forbidden.join('; ')}`, rejected.map((c, i) => ({ c, o: again[i] })));
  if (changedKeys(before, after).length) tally.sequenceOnly++;
  tally.checkedAgain += rejected.length;
  return after;
}

describe('fuzz', () => {
  it('covers every roomgate service the server registers', () => {
    expect(new Set(services)).toEqual(new Set(ROOMGATE_SERVICE_NAMES));
  });

  it(`survives ${CASES} mutated requests and tokens`, { timeout: 120_000 + CASES * 40 }, async () => {
    const tally = new Tally();
    let fingerprint = await dbFingerprint(db.pool);
    for (let first = 0; first < CASES; first += BATCH) {
      const values = fieldValues();
      const cases = Array.from({ length: Math.min(BATCH, CASES - first) }, (_, k) => makeCase(first + k, values));
      fingerprint = await runBatch(cases, fingerprint, tally);
      if ((first / BATCH) % 25 === 0) await expectServing();
      if (first > 0 && first % 5_000 < BATCH) console.log(`fuzz: ${first} of ${CASES} cases, ${((Date.now() - tally.started) / 1000).toFixed(0)} s`);
    }
    await expectServing();
    console.log(tally.summary());
    expect(internalErrors(server.stdout()), 'internal errors in the whole log').toEqual([]);
  });
});
