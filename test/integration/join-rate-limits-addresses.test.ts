// RedeemJoinCode's rate limits by client address over real gRPC, gRPC-Web and
// Postgres: three roomgates on this file's database, two that trust the test
// (127.0.0.1) as a proxy and one that trusts no proxy the test could be. The
// counts are shared between instances; a direct caller's roomgate-client-address
// and x-forwarded-for change nothing; through the gRPC-Web bridge the browser's
// address is what counts; refusals carry RetryInfo. Every test counts under
// addresses of its own (X-Forwarded-For, or a loopback source address), except
// the one that exhausts 127.0.0.1 itself.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetryInfo } from '../../src/gen/google/rpc/error_details.js';
import { Status } from '../../src/gen/google/rpc/status.js';
import { JoinCodeServiceClient, RedeemJoinCodeRequest, type RedeemJoinCodeResponse } from '../../src/gen/roomgate/v1/join_code_service.js';
import { inSeconds, insertRole, joinCodeClient, type JoinCodeCalls } from '../support/join-codes.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';

const LIMITS = { ROOMGATE_JOIN_RATE_LIMIT_PER_ADDRESS: '3', ROOMGATE_JOIN_RATE_LIMIT_PER_CODE: '5', ROOMGATE_RELAY_ENABLED: 'false' };
let t: TestRoomgate;
let t2: TestRoomgate;
let u: TestRoomgate;
let token: string;
let codes: JoinCodeCalls;
const clients: JoinCodeServiceClient[] = [];

beforeAll(async () => {
  t = await startTestRoomgate({ ...LIMITS, ROOMGATE_TRUSTED_PROXIES: '127.0.0.1' });
  t2 = await startTestRoomgate({ ...LIMITS, ROOMGATE_TRUSTED_PROXIES: '127.0.0.1' }, { sharing: t });
  u = await startTestRoomgate({ ...LIMITS, ROOMGATE_TRUSTED_PROXIES: '192.0.2.1' }, { sharing: t });
  token = await t.managementToken();
  codes = joinCodeClient(t.address);
  await insertRole(t.db.pool, { name: 'guest', permissions: { canSubscribe: true } });
});
afterAll(async () => {
  codes?.close();
  for (const c of clients) c.close();
  await u?.close();
  await t2?.close();
  await t?.close();
});

const guess = () => `rgj_${randomBytes(24).toString('base64url')}`;

/** RedeemJoinCode on `server` with `headers` as metadata. */
function redeem(server: TestRoomgate, code: string, headers: Record<string, string> = {}): Promise<RedeemJoinCodeResponse> {
  const client = new JoinCodeServiceClient(server.address, credentials.createInsecure());
  clients.push(client);
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return new Promise((resolve, reject) =>
    client.redeemJoinCode(RedeemJoinCodeRequest.fromPartial({ code, displayName: 'Eve' }), metadata, { deadline: Date.now() + 10_000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

/** The gRPC status code a call ends with, 0 for OK. */
const outcome = (p: Promise<unknown>) => p.then(() => 0, (err: ServiceError) => err.code);
const failure = (p: Promise<unknown>) => p.then(() => expect.fail('expected a refusal'), (err: ServiceError) => err);

async function attempts(bucket: string): Promise<number | undefined> {
  const { rows } = await t.db.pool.query<{ attempts: number }>('SELECT attempts FROM join_rate_limits WHERE bucket = $1', [bucket]);
  return rows[0]?.attempts;
}

async function realCode(maxUses = 100): Promise<string> {
  const roomId = (await t.client.rooms.createRoom({}, { token })).room!.id;
  return (await codes.create({ roomId, role: 'guest', expireTime: inSeconds(600), maxUses }, token)).code;
}

/** RedeemJoinCode over gRPC-Web with node:http, from `localAddress`; the status and trailers of the trailer frame. */
async function redeemViaWeb(server: TestRoomgate, code: string, options: { localAddress?: string; headers?: Record<string, string> } = {}) {
  const message = Buffer.from(RedeemJoinCodeRequest.encode(RedeemJoinCodeRequest.fromPartial({ code, displayName: 'Web' })).finish());
  const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
  body.writeUInt32BE(message.length, 1);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(`${server.httpUrl}/roomgate.v1.JoinCodeService/RedeemJoinCode`, {
      method: 'POST',
      localAddress: options.localAddress,
      headers: { 'content-type': 'application/grpc-web+proto', ...options.headers },
    });
    req.once('response', resolve).once('error', reject);
    req.end(body);
  });
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const all = Buffer.concat(chunks);
  const trailers: Record<string, string> = {};
  for (let at = 0; at < all.length; ) {
    const length = all.readUInt32BE(at + 1);
    if (all[at]! & 0x80) {
      for (const line of all.subarray(at + 5, at + 5 + length).toString().split('\r\n').filter(Boolean)) {
        const colon = line.indexOf(':');
        trailers[line.slice(0, colon)] = line.slice(colon + 1).trim();
      }
    }
    at += 5 + length;
  }
  return { httpStatus: res.statusCode, grpcStatus: Number(trailers['grpc-status']), trailers };
}

describe('RedeemJoinCode rate limits by client address', () => {
  it("counts a direct caller under its TCP address, whatever roomgate-client-address or x-forwarded-for it sends", async () => {
    const spoofs: Record<string, string>[] = [
      { 'roomgate-client-address': '203.0.113.201' },
      { 'x-forwarded-for': '203.0.113.202' },
      { 'roomgate-client-address': '203.0.113.203', 'roomgate-bridge-key': randomBytes(32).toString('base64url'), 'x-forwarded-for': '203.0.113.203' },
    ];
    for (const headers of spoofs) expect(await outcome(redeem(u, guess(), headers))).toBe(status.UNAUTHENTICATED);
    const refused = await failure(redeem(u, guess(), { 'x-forwarded-for': '203.0.113.204' }));
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/from your address/);
    expect(await attempts('address:127.0.0.1')).toBe(4);
    for (const spoofed of ['203.0.113.201', '203.0.113.202', '203.0.113.203', '203.0.113.204']) expect(await attempts(`address:${spoofed}`)).toBeUndefined();
  });

  it('believes x-forwarded-for from a trusted proxy, and counts one address over two instances', async () => {
    const from = (address: string) => ({ 'x-forwarded-for': address });
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push(await outcome(redeem(i % 2 ? t2 : t, guess(), from('203.0.113.10'))));
    expect(seen).toEqual([status.UNAUTHENTICATED, status.UNAUTHENTICATED, status.UNAUTHENTICATED]);
    const refused = await failure(redeem(t2, guess(), from('203.0.113.10')));
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    // The standard retry hint, beside ErrorInfo's metadata.
    const details = statusDetailsOf(refused.metadata);
    expect(details.typeUrls).toContain('type.googleapis.com/google.rpc.RetryInfo');
    const retry = Status.decode(refused.metadata.get('grpc-status-details-bin')[0] as Buffer).details.find((d) => d.typeUrl.endsWith('RetryInfo'))!;
    const delay = Number(RetryInfo.decode(retry.value).retryDelay!.seconds);
    expect(delay).toBeGreaterThanOrEqual(1);
    expect(delay).toBeLessThanOrEqual(60);
    expect(details.errorInfo[0]).toMatchObject({
      reason: 'ERR_JOIN_RATE_LIMITED',
      metadata: { retryAfterSeconds: String(delay), limit: '3', windowSeconds: '60', limitedBy: 'address' },
    });
    expect(refused.details).toBe(`too many join attempts from your address: the limit is 3 per 60 s; try again in ${delay} s`);
    // Another client behind the same proxy has an allowance of its own.
    expect(await outcome(redeem(t, guess(), from('203.0.113.11')))).toBe(status.UNAUTHENTICATED);
    expect(await attempts('address:203.0.113.10')).toBe(4);
  });

  it('holds the per-code limit over addresses and instances, saying nothing about the code', async () => {
    const code = await realCode();
    for (let i = 0; i < 5; i++) expect(await outcome(redeem(i % 2 ? t2 : t, code, { 'x-forwarded-for': `198.51.100.${i + 1}` }))).toBe(0);
    const refused = await failure(redeem(t2, code, { 'x-forwarded-for': '198.51.100.99' }));
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/^too many join attempts at this join code, from all addresses together: the limit is 5 per 60 s/);
    expect(refused.details).not.toContain(code);
    expect(statusDetailsOf(refused.metadata).errorInfo[0]!.metadata).toMatchObject({ limitedBy: 'code', limit: '5' });
  });

  it("counts a gRPC-Web call under the browser's address, from X-Forwarded-For behind a trusted proxy", async () => {
    const headers = { 'x-forwarded-for': '203.0.113.20', 'roomgate-client-address': '198.51.100.250' };
    for (let i = 0; i < 3; i++) expect((await redeemViaWeb(t, guess(), { headers })).grpcStatus).toBe(status.UNAUTHENTICATED);
    const refused = await redeemViaWeb(t2, guess(), { headers });
    expect(refused.httpStatus).toBe(200);
    expect(refused.grpcStatus).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.trailers['roomgate-error-code']).toBe('ERR_JOIN_RATE_LIMITED');
    const detail = Status.decode(Buffer.from(refused.trailers['grpc-status-details-bin']!, 'base64'));
    expect(detail.details.map((d) => d.typeUrl)).toContain('type.googleapis.com/google.rpc.RetryInfo');
    expect(await attempts('address:203.0.113.20')).toBe(4);
    expect(await attempts('address:198.51.100.250')).toBeUndefined();
    expect(await attempts('address:unknown')).toBeUndefined();
  });

  it("counts a gRPC-Web call under the browser's own address when no proxy is trusted", async () => {
    // From another loopback address, so as not to share 127.0.0.1's bucket.
    const web = await redeemViaWeb(u, guess(), { localAddress: '127.0.0.2', headers: { 'x-forwarded-for': '203.0.113.30' } });
    expect(web.grpcStatus).toBe(status.UNAUTHENTICATED);
    expect(await attempts('address:127.0.0.2')).toBe(1);
    expect(await attempts('address:203.0.113.30')).toBeUndefined();
  });
});
