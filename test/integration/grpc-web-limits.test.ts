// The limits in front of and behind the gRPC-Web bridge, on a real roomgate of
// this file's own: the listener's per-address request rate applies to gRPC-Web
// calls, and a browser that stops reading a WatchEvents stream is paced and
// then cut off by the server's own backlog limit, as a native caller is,
// rather than buffered without bound in the bridge.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { create, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WatchEventsRequestSchema } from '../../console/src/gen/roomgate/v1/event_service_pb.js';
import { EventType } from '../../console/src/gen/roomgate/v1/events_pb.js';
import { RoomService } from '../../console/src/gen/roomgate/v1/room_service_pb.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

const METADATA_BYTES = 512 * 1024;
let t: TestRoomgate;
let admin: string;

beforeAll(async () => {
  t = await startTestRoomgate({
    ROOMGATE_HTTP_RATE_LIMIT_PER_SECOND: '1',
    ROOMGATE_HTTP_RATE_LIMIT_BURST: '3',
    ROOMGATE_MAX_METADATA_BYTES: String(METADATA_BYTES + 16),
    ROOMGATE_WATCH_MAX_BACKLOG: '10',
  });
  admin = await t.managementToken();
});
afterAll(() => t?.close());

describe('limits of the browser path', () => {
  it('counts gRPC-Web calls against the per-address request rate: past the burst, connect-web gets UNAVAILABLE (HTTP 429)', async () => {
    const rooms = createClient(RoomService, createGrpcWebTransport({ baseUrl: t.httpUrl }));
    const headers = { authorization: `Bearer ${admin}` };
    const outcomes: (Code | 'ok')[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(await rooms.listRooms({}, { headers }).then(() => 'ok' as const, (err: ConnectError) => err.code));
    }
    expect(outcomes).toEqual(['ok', 'ok', 'ok', Code.Unavailable]);
    // Let the bucket refill for the next test.
    await sleep(3_000);
  });

  it('stops reading from the server while the browser does not read, so the server cuts a stalled stream off with RESOURCE_EXHAUSTED', async () => {
    const roomIds = await Promise.all([1, 2, 3, 4].map(async (n) => (await t.client.rooms.createRoom({ name: `big-events-${n}` }, { token: admin })).room!.id));
    const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), Buffer.from(toBinary(WatchEventsRequestSchema, create(WatchEventsRequestSchema, { types: [EventType.ROOM_UPDATED] })))]);
    body.writeUInt32BE(body.length - 5, 1);
    const url = new URL(`${t.httpUrl}/roomgate.v1.EventService/WatchEvents`);
    // A client that takes the headers and then reads nothing at all.
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/grpc-web+proto', authorization: `Bearer ${admin}` } });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve).once('error', reject);
      req.end(body);
    });
    expect(res.statusCode).toBe(200);
    res.pause();
    const cutOff = () =>
      t.logs.some((line) => {
        const l = JSON.parse(line) as { method?: string; code?: number; reason?: string };
        return l.method === 'WatchEvents' && l.code === 8 && /consumer too slow/.test(l.reason ?? '');
      });
    // Far more than the sockets and HTTP/2 windows between server and client hold (up to 60 MB; about 20 were needed here).
    for (let i = 0; i < 30 && !cutOff(); i++) {
      const metadata = JSON.stringify('x'.repeat(METADATA_BYTES - i));
      await Promise.all(roomIds.map((roomId) => t.client.rooms.updateRoom({ roomId, metadata }, { token: admin })));
    }
    for (const until = Date.now() + 20_000; !cutOff() && Date.now() < until; ) await sleep(100);
    expect(cutOff(), 'the server cut the stalled stream off').toBe(true);
    req.destroy();
  }, 90_000);
});
