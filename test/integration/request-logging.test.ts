// One log line per RPC with the request id (the caller's x-request-id, or a
// generated one) echoed in the response headers, and the identifiers an
// operator needs, but never a token or a metadata body.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomServiceClient } from '../../src/gen/roomgate/v1/room_service.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let admin: string;
let raw: RoomServiceClient;

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken('sandbox');
  raw = new RoomServiceClient(t.address, credentials.createInsecure());
});
afterAll(async () => {
  raw?.close();
  await t?.close();
});

/** GetRoom with raw metadata; resolves with the response headers and the error, if any. */
function getRoom(roomId: string, md: Metadata): Promise<{ headers: Metadata; err: ServiceError | null }> {
  return new Promise((resolve) => {
    let headers = new Metadata();
    const call = raw.getRoom({ roomId }, md, (err) => resolve({ headers, err }));
    call.on('metadata', (m) => (headers = m));
  });
}

const lines = () => t.logs.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('request logging', () => {
  it('echoes the caller x-request-id and logs it with method, code, environment and room', async () => {
    const { room } = await t.client.rooms.createRoom({ metadata: '{"secret-ish":"body"}' }, { token: admin });
    const md = new Metadata();
    md.set('authorization', `Bearer ${admin}`);
    md.set('x-request-id', 'req-abc-123');
    const { headers, err } = await getRoom(room!.id, md);
    expect(err).toBeNull();
    expect(headers.get('x-request-id')).toEqual(['req-abc-123']);
    const line = lines().find((l) => l.requestId === 'req-abc-123');
    expect(line).toMatchObject({ msg: 'rpc', method: 'GetRoom', code: 0, environment: 'sandbox', roomId: room!.id });
    expect(typeof line!.ms).toBe('number');
    const all = t.logs.join('');
    expect(all).not.toContain(admin);
    expect(all).not.toContain('secret-ish');
  });

  it('generates a request id when none (or a bad one) is sent, also for refused calls', async () => {
    const md = new Metadata();
    md.set('x-request-id', 'has spaces in it');
    const { headers, err } = await getRoom('00000000-0000-4000-8000-00000000dead', md);
    expect(err?.code).toBe(16);
    const [id] = headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines().find((l) => l.requestId === id)).toMatchObject({ method: 'GetRoom', code: 16, reason: expect.stringMatching(/missing credentials/) });
  });
});
