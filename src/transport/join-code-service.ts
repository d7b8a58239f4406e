import type { JoinCodeManager } from '../domain/join-code-manager.js';
import { DomainError, type ErrorCode } from '../domain/errors.js';
import type { JoinCodeServiceServer } from '../gen/roomgate/v1/join_code_service.js';
import { callClientKey } from './call-address.js';
import { fromJoinCodeKind, toJoinCode } from './join-code-mapper.js';
import { toPeer } from './mappers.js';
import { publicUnary, unary, type UnaryDeps } from './unary.js';

/** JoinCodeService's join code methods; the join settings methods are served apart. */
export type JoinCodeMethods = Pick<JoinCodeServiceServer, 'createJoinCode' | 'getJoinCode' | 'listJoinCodes' | 'revokeJoinCode' | 'redeemJoinCode'>;

const OUTCOMES: Partial<Record<ErrorCode, string>> = {
  ERR_JOIN_CODE_INVALID: 'invalid_code',
  ERR_JOIN_RATE_LIMITED: 'rate_limited',
  ERR_ROOM_FULL: 'room_full',
  ERR_IDENTITY_BANNED: 'identity_banned',
  ERR_PEER_IDENTITY_TAKEN: 'identity_taken',
  ERR_NO_APP_URL: 'no_app_url',
  ERR_APP_URL_NOT_ALLOWED: 'app_url_not_allowed',
  ERR_INVALID_ARGUMENT: 'invalid_argument',
};

/** The metric label of a redemption's failure: one of a fixed few, never anything the caller sent. */
export function redemptionOutcome(err: unknown): string {
  return (err instanceof DomainError && OUTCOMES[err.code]) || 'error';
}

/** gRPC handlers of roomgate.v1.JoinCodeService's join code methods. */
export function joinCodeService(deps: UnaryDeps, codes: JoinCodeManager): JoinCodeMethods {
  return {
    createJoinCode: unary(deps, 'CreateJoinCode', async (req, { principal }) => {
      const made = await codes.create(principal, { ...req, kind: fromJoinCodeKind(req.kind) });
      return { joinCode: toJoinCode(made.record), code: made.code, joinUrl: made.joinUrl };
    }),
    getJoinCode: unary(deps, 'GetJoinCode', async (req, { principal }) => ({
      joinCode: toJoinCode(await codes.get(principal, req.id)),
    })),
    listJoinCodes: unary(deps, 'ListJoinCodes', async (req, { principal }) => {
      const page = await codes.list(principal, req.roomId, req.pageSize, req.pageToken);
      return { joinCodes: page.items.map(toJoinCode), nextPageToken: page.nextPageToken };
    }),
    revokeJoinCode: unary(deps, 'RevokeJoinCode', async (req, { principal }) => ({
      joinCode: toJoinCode(await codes.revoke(principal, req.id)),
    })),
    redeemJoinCode: publicUnary(deps, 'RedeemJoinCode', async (req, call) => {
      try {
        const r = await codes.redeem(req, callClientKey(call));
        deps.metrics?.joinCodeRedemptions.inc({ outcome: 'ok' });
        deps.metrics?.tokensIssued.inc({ method: 'RedeemJoinCode' });
        return { peer: toPeer(r.peer), peerToken: r.token, tokenExpireTime: r.expiresAt, appUrl: r.appUrl };
      } catch (err) {
        deps.metrics?.joinCodeRedemptions.inc({ outcome: redemptionOutcome(err) });
        throw err;
      }
    }),
  };
}
