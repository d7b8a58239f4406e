// Brute-forcing short join codes against a real roomgate (real gRPC, real
// Postgres, this file's own database) with the default limits: 20 attempts
// per client address and 120 per code a minute. The test trusts itself
// (127.0.0.1) as a proxy, so that X-Forwarded-For gives it other addresses;
// without the header it is 127.0.0.1, the attacker. Guesses are random short
// codes; the chance that one of them is the live code is 1 in 26^10 per guess.
import { randomInt } from 'node:crypto';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JoinCodeServiceClient, RedeemJoinCodeRequest, type RedeemJoinCodeResponse } from '../../src/gen/roomgate/v1/join_code_service.js';
import { JoinCodeKind } from '../../src/gen/roomgate/v1/resources.js';
import { inSeconds, insertRole, joinCodeClient, type JoinCodeCalls } from '../support/join-codes.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';

const PER_ADDRESS = 20;
let t: TestRoomgate;
let token: string;
let codes: JoinCodeCalls;
let client: JoinCodeServiceClient;

beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_TRUSTED_PROXIES: '127.0.0.1', ROOMGATE_RELAY_ENABLED: 'false' });
  token = await t.managementToken();
  codes = joinCodeClient(t.address);
  client = new JoinCodeServiceClient(t.address, credentials.createInsecure());
  await insertRole(t.db.pool, { name: 'guest', permissions: { canSubscribe: true } });
});
afterAll(async () => {
  codes?.close();
  client?.close();
  await t?.close();
});

/** A random code in the short codes' format, abc-defg-hij. */
const shortGuess = () => {
  const letters = Array.from({ length: 10 }, () => String.fromCharCode(97 + randomInt(26))).join('');
  return `${letters.slice(0, 3)}-${letters.slice(3, 7)}-${letters.slice(7)}`;
};

function redeem(code: string, forwardedFor?: string): Promise<RedeemJoinCodeResponse> {
  const metadata = new Metadata();
  if (forwardedFor) metadata.set('x-forwarded-for', forwardedFor);
  return new Promise((resolve, reject) =>
    client.redeemJoinCode(RedeemJoinCodeRequest.fromPartial({ code, displayName: 'Mallory' }), metadata, { deadline: Date.now() + 10_000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

const refusal = (p: Promise<unknown>) => p.then(() => expect.fail('expected a refusal'), (err: ServiceError) => err);

/** The value of one sample in the Prometheus text, 0 when absent. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

describe('brute-forcing short codes', () => {
  it('holds the per-address limit: every guess past it is RESOURCE_EXHAUSTED, the real code too, while another address redeems it', async () => {
    const roomId = (await t.client.rooms.createRoom({ name: 'brute-force-target' }, { token })).room!.id;
    const real = await codes.create({ roomId, role: 'guest', kind: JoinCodeKind.JOIN_CODE_KIND_SHORT, expireTime: inSeconds(600), maxUses: 2 }, token);
    expect(real.code).toMatch(/^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);

    const GUESSES = 300;
    const outcomes: number[] = [];
    let lastRefusal: ServiceError | undefined;
    for (let i = 0; i < GUESSES; i++) {
      const err = await refusal(redeem(shortGuess()));
      outcomes.push(err.code!);
      if (err.code === status.RESOURCE_EXHAUSTED) lastRefusal = err;
    }
    expect(outcomes.slice(0, PER_ADDRESS)).toEqual(Array(PER_ADDRESS).fill(status.UNAUTHENTICATED));
    expect(outcomes.slice(PER_ADDRESS)).toEqual(Array(GUESSES - PER_ADDRESS).fill(status.RESOURCE_EXHAUSTED));
    const facts = statusDetailsOf(lastRefusal!.metadata).errorInfo[0]!.metadata;
    expect(facts).toMatchObject({ limit: '20', windowSeconds: '60', limitedBy: 'address' });
    expect(Number(facts.retryAfterSeconds)).toBeLessThanOrEqual(60);

    // The real code, however typed, is refused from that address within the window.
    for (const typed of [real.code, real.code.toUpperCase().replace(/-/g, '')]) {
      const err = await refusal(redeem(typed));
      expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(err.details).toMatch(/from your address/);
    }
    // Another address, behind the trusted proxy, still redeems it.
    const redeemed = await redeem(real.code, '203.0.113.77');
    expect(redeemed.peer).toMatchObject({ roomId, name: 'Mallory', role: 'guest' });
    expect((await codes.get({ id: real.joinCode!.id }, token)).joinCode!.useCount).toBe(1);

    // The refusals after the first came from the instance's memo: the
    // attacker's bucket was written PER_ADDRESS + 1 times, not 302.
    const { rows } = await t.db.pool.query<{ attempts: number }>(`SELECT attempts FROM join_rate_limits WHERE bucket = 'address:127.0.0.1'`);
    expect(rows[0]?.attempts).toBe(PER_ADDRESS + 1);

    const refused = GUESSES - PER_ADDRESS + 2;
    const metrics = await (await fetch(`http://127.0.0.1:${t.roomgate.metricsPort}/metrics`)).text();
    expect(sample(metrics, 'roomgate_join_rate_limited_total{limit="address"}')).toBe(refused);
    expect(sample(metrics, 'roomgate_join_rate_limited_total{limit="code"}')).toBe(0);
    expect(sample(metrics, 'roomgate_join_rate_limit_memo_hits_total')).toBe(refused - 1);
    expect(sample(metrics, 'roomgate_join_rate_limit_memo_entries')).toBe(1);
    expect(sample(metrics, 'roomgate_join_code_redemptions_total{outcome="rate_limited"}')).toBe(refused);
    expect(sample(metrics, 'roomgate_join_code_redemptions_total{outcome="invalid_code"}')).toBe(PER_ADDRESS);
    expect(sample(metrics, 'roomgate_join_code_redemptions_total{outcome="ok"}')).toBe(1);
  });

  it('gives many addresses guessing at once exactly their allowance each, and no more', async () => {
    const ADDRESSES = 10;
    const PER = 30;
    const results = await Promise.all(
      Array.from({ length: ADDRESSES }, async (_, a) => {
        const seen: number[] = [];
        // Each address sends its guesses concurrently too.
        const settled = await Promise.all(Array.from({ length: PER }, () => refusal(redeem(shortGuess(), `198.51.100.${a + 1}`))));
        for (const err of settled) seen.push(err.code!);
        return seen;
      }),
    );
    for (const seen of results) {
      expect(seen.filter((c) => c === status.UNAUTHENTICATED)).toHaveLength(PER_ADDRESS);
      expect(seen.filter((c) => c === status.RESOURCE_EXHAUSTED)).toHaveLength(PER - PER_ADDRESS);
    }
  });
});
