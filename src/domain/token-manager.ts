import { DomainError } from './errors.js';
import type { Limits } from './limits.js';
import type { PeerTokenClaims, PeerTokens, TokenInvalidReason } from './peer-token.js';
import { tokenSubject, type IssuedPeerToken } from './peer-manager.js';
import { ensureCan } from './permissions.js';
import type { Principal } from './principal.js';
import type { SigningKeyRing } from './signing-keys.js';
import type { PeerStore } from './stores.js';
import * as v from './validation.js';

/** The answer to VerifyPeerToken. */
export type Verification = { valid: true; claims: PeerTokenClaims } | { valid: false; reason: TokenInvalidReason };

/** Token use cases: verify for media servers, refresh for peers, and the JWKS. */
export class TokenManager {
  constructor(
    private readonly tokens: PeerTokens,
    private readonly peers: PeerStore,
    private readonly keys: SigningKeyRing,
    private readonly limits: Limits,
  ) {}

  /**
   * Verifies a token fully: signature, claims, environment, room, and that the
   * peer still exists. The caller's environment must match the token's.
   */
  async verify(principal: Principal, token: string, roomId: string): Promise<Verification> {
    ensureCan(principal, 'token:verify');
    if (roomId !== '') v.requireId('room_id', roomId);
    if (token === '') throw new DomainError('ERR_INVALID_ARGUMENT', 'token: is required');
    const checked = await this.tokens.check(token);
    if (!checked.valid) return checked;
    // Environment and room come before the database lookup, so a caller learns
    // nothing about whether another environment's peer still exists.
    if (checked.claims.environment !== principal.environment) return { valid: false, reason: 'WRONG_ENVIRONMENT' };
    if (roomId !== '' && checked.claims.roomId !== roomId) return { valid: false, reason: 'WRONG_ROOM' };
    return this.ensureLive(checked.claims);
  }

  /**
   * Checks a token cryptographically and against the database: a token whose
   * peer or room was deleted is REVOKED at once. Used by VerifyPeerToken and
   * by authentication of peer callers.
   */
  async verifyLive(token: string): Promise<Verification> {
    const checked = await this.tokens.check(token);
    return checked.valid ? this.ensureLive(checked.claims) : checked;
  }

  private async ensureLive(claims: PeerTokenClaims): Promise<Verification> {
    const live = await this.peers.exists(claims.environment, claims.roomId, claims.peerId);
    return live ? { valid: true, claims } : { valid: false, reason: 'REVOKED' };
  }

  /** Issues a fresh token for the calling peer, with the peer's current data. */
  async refresh(principal: Principal, tokenTtlSeconds: number): Promise<IssuedPeerToken> {
    ensureCan(principal, 'token:refresh');
    if (principal.kind !== 'peer') throw new Error('unreachable: ensureCan admits peers only');
    const ttl = v.tokenTtl(tokenTtlSeconds, this.limits);
    const peer = await this.peers.get(principal.environment, principal.roomId, principal.peerId);
    if (!peer) throw new DomainError('ERR_UNAUTHENTICATED', 'invalid, expired or revoked credentials');
    const stamp = this.tokens.stamp(ttl);
    return { token: await this.tokens.sign(tokenSubject(peer), stamp), expiresAt: new Date(stamp.expiresAt * 1000) };
  }

  /** The JSON Web Key Set, as text. */
  jwks(): string {
    return JSON.stringify(this.keys.jwks());
  }
}
