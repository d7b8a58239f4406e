// Join codes for integration tests: a promise client of JoinCodeService, and
// rows written with SQL into the test file's own database (see database.ts):
// roles, as CreateRole would store them (for tests about something else, such
// as the rate limits), and the environment's allowed app URLs, as
// UpdateJoinSettings would.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import type pg from 'pg';
import * as messages from '../../src/gen/roomgate/v1/join_code_service.js';
import type { Environment } from '../../src/domain/principal.js';

type Partial<T> = messages.DeepPartial<T>;

/** JoinCodeService as promises; `token` null sends no authorization. */
export interface JoinCodeCalls {
  create(req: Partial<messages.CreateJoinCodeRequest>, token: string | null): Promise<messages.CreateJoinCodeResponse>;
  get(req: Partial<messages.GetJoinCodeRequest>, token: string | null): Promise<messages.GetJoinCodeResponse>;
  list(req: Partial<messages.ListJoinCodesRequest>, token: string | null): Promise<messages.ListJoinCodesResponse>;
  revoke(req: Partial<messages.RevokeJoinCodeRequest>, token: string | null): Promise<messages.RevokeJoinCodeResponse>;
  /** `forwardedFor` is sent as x-forwarded-for, which a server that trusts 127.0.0.1 as a proxy believes. */
  redeem(req: Partial<messages.RedeemJoinCodeRequest>, token?: string | null, forwardedFor?: string): Promise<messages.RedeemJoinCodeResponse>;
  close(): void;
}

type Method<Req, Res> = (req: Req, md: Metadata, options: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown;

/** A JoinCodeService client of the server at `address` (host:port). */
export function joinCodeClient(address: string): JoinCodeCalls {
  const client = new messages.JoinCodeServiceClient(address, credentials.createInsecure());
  const call =
    <Req, Res>(method: Method<Req, Res>, type: { fromPartial(p: unknown): Req }) =>
    (req: unknown, token: string | null = null, forwardedFor?: string) =>
      new Promise<Res>((resolve, reject) => {
        const md = new Metadata();
        if (token !== null) md.set('authorization', `Bearer ${token}`);
        if (forwardedFor !== undefined) md.set('x-forwarded-for', forwardedFor);
        method.call(client, type.fromPartial(req), md, { deadline: Date.now() + 20_000 }, (err, res) => (err ? reject(err) : resolve(res)));
      });
  return {
    create: call(client.createJoinCode as Method<messages.CreateJoinCodeRequest, messages.CreateJoinCodeResponse>, messages.CreateJoinCodeRequest),
    get: call(client.getJoinCode as Method<messages.GetJoinCodeRequest, messages.GetJoinCodeResponse>, messages.GetJoinCodeRequest),
    list: call(client.listJoinCodes as Method<messages.ListJoinCodesRequest, messages.ListJoinCodesResponse>, messages.ListJoinCodesRequest),
    revoke: call(client.revokeJoinCode as Method<messages.RevokeJoinCodeRequest, messages.RevokeJoinCodeResponse>, messages.RevokeJoinCodeRequest),
    redeem: call(client.redeemJoinCode as Method<messages.RedeemJoinCodeRequest, messages.RedeemJoinCodeResponse>, messages.RedeemJoinCodeRequest),
    close: () => client.close(),
  };
}

/** Replaces the environment's allowed app URLs with SQL, as UpdateJoinSettings would store them. */
export async function setAppUrls(pool: pg.Pool, environment: Environment, urls: string[]): Promise<void> {
  await pool.query('DELETE FROM join_app_urls WHERE environment = $1', [environment]);
  for (const [position, url] of urls.entries()) {
    await pool.query('INSERT INTO join_app_urls (environment, position, url) VALUES ($1, $2, $3)', [environment, position, url]);
  }
}

/** A time `seconds` from now, for expire_time. */
export const inSeconds = (seconds: number): Date => new Date(Date.now() + seconds * 1000);

/**
 * Configuration that lifts RedeemJoinCode's rate limits out of the way of
 * tests about something else (they all call from 127.0.0.1); the limits have
 * their own tests (join-rate-limits*.test.ts, join-brute-force.test.ts).
 */
export const UNLIMITED_JOINS = {
  ROOMGATE_JOIN_RATE_LIMIT_PER_ADDRESS: '1000000',
  ROOMGATE_JOIN_RATE_LIMIT_PER_CODE: '1000000',
} as const;
