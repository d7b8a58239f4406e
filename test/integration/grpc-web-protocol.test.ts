// The gRPC-Web wire protocol of the bridge, over real HTTP with fetch and hand-made
// frames (grpc/grpc doc/PROTOCOL-WEB.md): the text format, malformed and
// oversized requests, content types, the routes it adds, CORS, the per-address
// stream cap and shutdown. A roomgate of this file's own, on its own database.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusSchema } from '../../console/src/gen/google/rpc/status_pb.js';
import { ErrorInfoSchema } from '../../console/src/gen/google/rpc/error_details_pb.js';
import { WatchEventsRequestSchema } from '../../console/src/gen/roomgate/v1/event_service_pb.js';
import { CreateRoomRequestSchema, CreateRoomResponseSchema } from '../../console/src/gen/roomgate/v1/room_service_pb.js';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

const ORIGIN = 'https://console.example.com';
const MAX_MESSAGE_BYTES = 4096;
let t: TestRoomgate;
let admin: string;

beforeAll(async () => {
  t = await startTestRoomgate({
    ROOMGATE_HTTP_CORS_ORIGINS: `${ORIGIN},http://localhost:5173`,
    ROOMGATE_GRPC_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
    ROOMGATE_HTTP_GRPC_WEB_MAX_STREAMS_PER_ADDRESS: '2',
    // Two bridged streams fill the bridge's stream connection; unary calls must still go through on theirs.
    ROOMGATE_GRPC_MAX_CONCURRENT_STREAMS: '2',
  });
  admin = await t.managementToken();
});
afterAll(() => t?.close());

function frame(flag: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flag;
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

interface Parsed {
  messages: Buffer[];
  trailers: Record<string, string>;
}

/** Splits a binary gRPC-Web response body into its messages and its trailer frame, which must come last. */
function parseBody(body: Buffer): Parsed {
  const parsed: Parsed = { messages: [], trailers: {} };
  let at = 0;
  let sawTrailer = false;
  while (at < body.length) {
    expect(sawTrailer, 'nothing after the trailer frame').toBe(false);
    const flag = body[at]!;
    const length = body.readUInt32BE(at + 1);
    const payload = body.subarray(at + 5, at + 5 + length);
    expect(payload.length).toBe(length);
    at += 5 + length;
    if (flag === 0x80) {
      sawTrailer = true;
      for (const line of payload.toString('latin1').split('\r\n').filter(Boolean)) {
        const colon = line.indexOf(':');
        parsed.trailers[line.slice(0, colon)] = line.slice(colon + 1).trim();
      }
    } else {
      expect(flag).toBe(0);
      parsed.messages.push(payload);
    }
  }
  expect(sawTrailer, 'a trailer frame').toBe(true);
  return parsed;
}

async function post(path: string, body: Uint8Array | string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${t.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/grpc-web+proto', authorization: `Bearer ${admin}`, ...headers },
    body,
  });
}

async function call(path: string, body: Uint8Array | string, headers: Record<string, string> = {}): Promise<Parsed & { res: Response }> {
  const res = await post(path, body, headers);
  expect(res.status).toBe(200);
  return { res, ...parseBody(Buffer.from(await res.arrayBuffer())) };
}

const createRoom = (name: string) => frame(0, toBinary(CreateRoomRequestSchema, create(CreateRoomRequestSchema, { name })));

describe('the text format (application/grpc-web-text)', () => {
  it('takes a base64 request, in padded chunks too, and answers in base64', async () => {
    const request = createRoom('text-room');
    // Two chunks, each padded: a client may flush anywhere.
    const body = request.subarray(0, 4).toString('base64') + request.subarray(4).toString('base64');
    expect(body.slice(0, 8)).toMatch(/=/);
    const res = await post('/roomgate.v1.RoomService/CreateRoom', body, { 'content-type': 'application/grpc-web-text' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/grpc-web-text+proto');
    const text = await res.text();
    expect(text).toMatch(/^[A-Za-z0-9+/=]+$/);
    // Each frame is its own padded base64 chunk.
    const chunks = text.split(/(?<==)(?=[^=])/).map((c) => Buffer.from(c, 'base64'));
    const { messages, trailers } = parseBody(Buffer.concat(chunks));
    expect(trailers['grpc-status']).toBe('0');
    expect(fromBinary(CreateRoomResponseSchema, messages[0]!).room?.name).toBe('text-room');
  });

  it('refuses a body that is not base64 with INVALID_ARGUMENT', async () => {
    const res = await post('/roomgate.v1.RoomService/CreateRoom', 'not base64!', { 'content-type': 'application/grpc-web-text+proto' });
    const { trailers } = parseBody(Buffer.from(await res.text(), 'base64'));
    expect(trailers['grpc-status']).toBe('3');
    expect(decodeURIComponent(trailers['grpc-message']!)).toBe('gRPC-Web request: the grpc-web-text body is not base64');
  });
});

describe('malformed requests get a gRPC-Web status, never a stack', () => {
  it.each([
    ['no frame', Buffer.alloc(0), 'gRPC-Web request: the request has no message frame'],
    ['a cut frame header', Buffer.from([0, 0, 0]), 'gRPC-Web request: the request body ends inside a frame header'],
    ['a cut message', Buffer.from([0, 0, 0, 0, 9, 1, 2]), 'gRPC-Web request: the request body ends inside its message frame (2 of 9 bytes)'],
    ['two frames', Buffer.concat([createRoom('a'), createRoom('b')]), /more than one message frame/],
    ['a compressed frame', Buffer.from([1, 0, 0, 0, 0]), /compressed or flagged request frames are not supported/],
    ['a trailer frame', Buffer.from([0x80, 0, 0, 0, 0]), 'gRPC-Web request: a request may not carry a trailer frame'],
  ])('%s: INVALID_ARGUMENT with ErrorInfo', async (_what, body, message) => {
    const { trailers, messages, res } = await call('/roomgate.v1.RoomService/CreateRoom', body);
    expect(messages).toEqual([]);
    expect(trailers['grpc-status']).toBe('3');
    expect(decodeURIComponent(trailers['grpc-message']!)).toMatch(message);
    expect(trailers['roomgate-error-code']).toBe('ERR_INVALID_ARGUMENT');
    const status = fromBinary(StatusSchema, Buffer.from(trailers['grpc-status-details-bin']!, 'base64'));
    expect(status.code).toBe(3);
    expect(anyUnpack(status.details[0]!, ErrorInfoSchema)?.reason).toBe('ERR_INVALID_ARGUMENT');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses a message over ROOMGATE_GRPC_MAX_MESSAGE_BYTES with RESOURCE_EXHAUSTED, as gRPC does', async () => {
    const big = frame(0, toBinary(CreateRoomRequestSchema, create(CreateRoomRequestSchema, { name: 'x', metadata: JSON.stringify('y'.repeat(MAX_MESSAGE_BYTES)) })));
    const { trailers } = await call('/roomgate.v1.RoomService/CreateRoom', big);
    expect(trailers['grpc-status']).toBe('8');
    expect(decodeURIComponent(trailers['grpc-message']!)).toBe(`the request message is larger than the limit of ${MAX_MESSAGE_BYTES} bytes (ROOMGATE_GRPC_MAX_MESSAGE_BYTES)`);
    // A frame header that claims more than the limit is refused without waiting for the bytes.
    const claimed = await call('/roomgate.v1.RoomService/CreateRoom', Buffer.from([0, 0, 1, 0, 0, 1]));
    expect(claimed.trailers['grpc-status']).toBe('8');
  });

  it('refuses a malformed grpc-timeout with INVALID_ARGUMENT, and applies a good one on the server', async () => {
    const bad = await call('/roomgate.v1.RoomService/ListRooms', Buffer.from([0, 0, 0, 0, 0]), { 'grpc-timeout': '1.5S' });
    expect(bad.trailers['grpc-status']).toBe('3');
    expect(decodeURIComponent(bad.trailers['grpc-message']!)).toMatch(/grpc-timeout must be 1 to 8 digits and a unit/);
    const watch = frame(0, toBinary(WatchEventsRequestSchema, create(WatchEventsRequestSchema, {})));
    const timedOut = await call('/roomgate.v1.EventService/WatchEvents', watch, { 'grpc-timeout': '200m' });
    expect(timedOut.trailers['grpc-status']).toBe('4');
    expect(decodeURIComponent(timedOut.trailers['grpc-message']!)).toBe('deadline exceeded');
  });

  it('answers a content type it does not speak with 415, and compressed messages with UNIMPLEMENTED', async () => {
    const json = await post('/roomgate.v1.RoomService/ListRooms', '{}', { 'content-type': 'application/grpc-web+json' });
    expect(json.status).toBe(415);
    expect(await json.text()).toMatch(/application\/grpc-web\+proto/);
    const gzip = await call('/roomgate.v1.RoomService/ListRooms', Buffer.from([0, 0, 0, 0, 0]), { 'grpc-encoding': 'gzip' });
    expect(gzip.trailers['grpc-status']).toBe('12');
  });
});

describe('routes', () => {
  it('serves every roomgate.v1 method the gRPC server registers, and no health or reflection method', async () => {
    const paths = [...t.roomgate.server.methods.keys()];
    const roomgate = paths.filter((p) => p.startsWith('/roomgate.v1.'));
    expect(roomgate.length).toBeGreaterThan(30);
    expect(roomgate).toContain('/roomgate.v1.AuditService/ListAuditEvents');
    for (const path of roomgate) {
      // A body that is no frame: the bridge's own INVALID_ARGUMENT, proof that the route exists.
      const { trailers } = await call(path, Buffer.from([0]));
      expect(trailers['grpc-status'], path).toBe('3');
    }
    for (const path of paths.filter((p) => !p.startsWith('/roomgate.v1.'))) {
      expect((await post(path, Buffer.from([0]))).status, path).toBe(404);
    }
  });

  it('answers GET on a method path with 405 and Allow: POST, OPTIONS', async () => {
    const res = await fetch(`${t.httpUrl}/roomgate.v1.RoomService/ListRooms`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
  });
});

describe('CORS', () => {
  const preflight = (origin: string) =>
    fetch(`${t.httpUrl}/roomgate.v1.RoomService/CreateRoom`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-grpc-web,x-user-agent' },
    });

  it('grants a preflight from an allowed origin the gRPC-Web request headers', async () => {
    const res = await preflight(ORIGIN);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-allow-methods')).toBe('POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, content-type, x-grpc-web, x-user-agent, grpc-timeout, x-request-id');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toBe('origin');
  });

  it('refuses a preflight from another origin with no CORS header at all', async () => {
    const res = await preflight('https://evil.example.com');
    expect(res.status).toBe(403);
    expect([...res.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('exposes the gRPC-Web headers to an allowed origin on the call itself, and nothing to another', async () => {
    const allowed = await call('/roomgate.v1.RoomService/ListRooms', Buffer.from([0, 0, 0, 0, 0]), { origin: ORIGIN });
    expect(allowed.trailers['grpc-status']).toBe('0');
    expect(allowed.res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(allowed.res.headers.get('access-control-expose-headers')).toBe(
      'grpc-status, grpc-message, grpc-status-details-bin, roomgate-error-code, x-request-id, roomgate-start-cursor',
    );
    const other = await call('/roomgate.v1.RoomService/ListRooms', Buffer.from([0, 0, 0, 0, 0]), { origin: 'https://evil.example.com' });
    expect(other.res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('server streams', () => {
  const watchBody = frame(0, toBinary(WatchEventsRequestSchema, create(WatchEventsRequestSchema, {})));

  /** Opens WatchEvents; resolves with the response once its headers are in (the server has subscribed, or refused). */
  function watch(base = t.httpUrl, token = admin) {
    const abort = new AbortController();
    const res = fetch(`${base}/roomgate.v1.EventService/WatchEvents`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', authorization: `Bearer ${token}` },
      body: watchBody,
      signal: abort.signal,
    });
    return { abort, res };
  }

  it('holds at most ROOMGATE_HTTP_GRPC_WEB_MAX_STREAMS_PER_ADDRESS (2 here) per client address, lets unary calls through meanwhile, and frees the slot of a client that goes away', async () => {
    const first = watch();
    const second = watch();
    for (const w of [first, second]) expect((await w.res).headers.get('roomgate-start-cursor')).toBeTruthy();
    // The server takes 2 concurrent streams per connection (ROOMGATE_GRPC_MAX_CONCURRENT_STREAMS here): unary calls have a connection of their own.
    expect((await call('/roomgate.v1.RoomService/ListRooms', Buffer.from([0, 0, 0, 0, 0]))).trailers['grpc-status']).toBe('0');

    const refused = parseBody(Buffer.from(await (await watch().res).arrayBuffer()));
    expect(refused.trailers['grpc-status']).toBe('8');
    expect(refused.trailers['roomgate-error-code']).toBe('ERR_WATCH_LIMIT_EXCEEDED');
    const status = fromBinary(StatusSchema, Buffer.from(refused.trailers['grpc-status-details-bin']!, 'base64'));
    expect(anyUnpack(status.details[0]!, ErrorInfoSchema)?.metadata).toEqual({ limit: 'per_address', max: '2' });
    expect(decodeURIComponent(refused.trailers['grpc-message']!)).toMatch(/ROOMGATE_HTTP_GRPC_WEB_MAX_STREAMS_PER_ADDRESS/);

    // The client of the first stream disconnects: the bridge cancels its call and the slot comes back.
    first.abort.abort();
    let admitted: ReturnType<typeof watch> | undefined;
    for (const until = Date.now() + 10_000; !admitted && Date.now() < until; ) {
      const attempt = watch();
      const res = await attempt.res;
      if (res.headers.get('roomgate-start-cursor')) admitted = attempt;
      else await res.arrayBuffer();
    }
    expect(admitted, 'a new stream admitted after the first client left').toBeDefined();
    admitted!.abort.abort();
    second.abort.abort();
  });

  it('ends open streams at shutdown with UNAVAILABLE and a cursor to resume from, and the listener closes', async () => {
    const other = await startTestRoomgate();
    const token = await other.managementToken();
    const w = watch(other.httpUrl, token);
    const res = await w.res;
    const start = res.headers.get('roomgate-start-cursor');
    expect(start).toBeTruthy();
    const body = res.arrayBuffer();
    await other.close();
    const { trailers } = parseBody(Buffer.from(await body));
    expect(trailers['grpc-status']).toBe('14');
    expect(trailers['roomgate-error-code']).toBe('ERR_SHUTTING_DOWN');
    const status = fromBinary(StatusSchema, Buffer.from(trailers['grpc-status-details-bin']!, 'base64'));
    expect(anyUnpack(status.details[0]!, ErrorInfoSchema)?.metadata.resumeCursor).toBe(start);
  });
});
