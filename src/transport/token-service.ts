import type { ManagementTokenManager } from '../domain/management-token-manager.js';
import type { SigningKeyManager } from '../domain/signing-key-manager.js';
import type { TokenManager } from '../domain/token-manager.js';
import { TokenInvalidReason, type TokenServiceServer } from '../gen/roomgate/v1/token_service.js';
import { fromScopes, toClaims, toManagementToken, toReason, toSigningKey } from './mappers.js';
import { publicUnary, unary, type UnaryDeps } from './unary.js';

/** The domain managers behind TokenService. */
export interface TokenServiceManagers {
  tokens: TokenManager;
  managementTokens: ManagementTokenManager;
  signingKeys: SigningKeyManager;
}

/** gRPC handlers of roomgate.v1.TokenService. */
export function tokenService(deps: UnaryDeps, m: TokenServiceManagers): TokenServiceServer {
  return {
    verifyPeerToken: unary(deps, 'VerifyPeerToken', async (req, { principal }) => {
      const result = await m.tokens.verify(principal, req.token, req.roomId);
      deps.metrics?.tokensVerified.inc({ result: result.valid ? 'valid' : result.reason });
      return result.valid
        ? { valid: true, reason: TokenInvalidReason.TOKEN_INVALID_REASON_UNSPECIFIED, claims: toClaims(result.claims) }
        : { valid: false, reason: toReason(result.reason), claims: undefined };
    }),
    refreshPeerToken: unary(deps, 'RefreshPeerToken', async (req, { principal }) => {
      const issued = await m.tokens.refresh(principal, req.tokenTtlSeconds);
      deps.metrics?.tokensIssued.inc({ method: 'RefreshPeerToken' });
      return { peerToken: issued.token, tokenExpireTime: issued.expiresAt };
    }),
    getJwks: publicUnary(deps, 'GetJwks', async () => ({ jwksJson: m.tokens.jwks() })),
    issuePeerToken: unary(deps, 'IssuePeerToken', async (req, { principal }) => {
      const issued = await m.tokens.issue(principal, req.roomId, req.peerId, req.tokenTtlSeconds, req.role);
      deps.metrics?.tokensIssued.inc({ method: 'IssuePeerToken' });
      return { peerToken: issued.token, tokenExpireTime: issued.expiresAt };
    }),
    createManagementToken: unary(deps, 'CreateManagementToken', async (req, { principal }) => {
      const { token, record } = await m.managementTokens.create(principal, {
        name: req.name,
        scopes: fromScopes(req.scopes),
        expiresAt: req.expireTime ?? null,
      });
      return { token, managementToken: toManagementToken(record, true) };
    }),
    listManagementTokens: unary(deps, 'ListManagementTokens', async (req, { principal }) => {
      const page = await m.managementTokens.list(principal, req.pageSize, req.pageToken);
      return {
        managementTokens: page.items.map((r) => toManagementToken(r, m.managementTokens.isActive(r))),
        nextPageToken: page.nextPageToken,
      };
    }),
    getCurrentManagementToken: unary(deps, 'GetCurrentManagementToken', async (_req, { principal }) => {
      const record = await m.managementTokens.current(principal);
      return { token: toManagementToken(record, m.managementTokens.isActive(record)) };
    }),
    revokeManagementToken: unary(deps, 'RevokeManagementToken', async (req, { principal }) => {
      const record = await m.managementTokens.revoke(principal, req.id, req.graceSeconds);
      return { managementToken: toManagementToken(record, m.managementTokens.isActive(record)) };
    }),
    rotateSigningKey: unary(deps, 'RotateSigningKey', async (req, { principal }) => {
      const { key, keys } = await m.signingKeys.rotate(principal, req.prepublishSeconds);
      return { signingKey: toSigningKey(key), signingKeys: keys.map(toSigningKey) };
    }),
    listSigningKeys: unary(deps, 'ListSigningKeys', async (_req, { principal }) => ({
      signingKeys: (await m.signingKeys.list(principal)).map(toSigningKey),
    })),
  };
}
