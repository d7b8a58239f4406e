import type { TokenManager } from '../domain/token-manager.js';
import { TokenInvalidReason, type TokenServiceServer } from '../gen/roomgate/v1/token_service.js';
import { toClaims, toReason } from './mappers.js';
import { publicUnary, unary, type UnaryDeps } from './unary.js';

/** gRPC handlers of roomgate.v1.TokenService. */
export function tokenService(deps: UnaryDeps, tokens: TokenManager): TokenServiceServer {
  return {
    verifyPeerToken: unary(deps, 'VerifyPeerToken', async (req, { principal }) => {
      const result = await tokens.verify(principal, req.token, req.roomId);
      return result.valid
        ? { valid: true, reason: TokenInvalidReason.TOKEN_INVALID_REASON_UNSPECIFIED, claims: toClaims(result.claims) }
        : { valid: false, reason: toReason(result.reason), claims: undefined };
    }),
    refreshPeerToken: unary(deps, 'RefreshPeerToken', async (req, { principal }) => {
      const issued = await tokens.refresh(principal, req.tokenTtlSeconds);
      return { peerToken: issued.token, tokenExpireTime: issued.expiresAt };
    }),
    getJwks: publicUnary(deps, 'GetJwks', async () => ({ jwksJson: tokens.jwks() })),
  };
}
