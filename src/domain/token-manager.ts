import type { Clock } from './clock.js';
import { DomainError, invalidArgument } from './errors.js';
import type { Limits } from './limits.js';
import { maxPeerTokenBytes, tokenSubject, type IssuedPeerToken, type PeerTokenClaims, type PeerTokens, type TokenInvalidReason } from './peer-token.js';
import { ensureCan } from './permissions.js';
import type { Principal } from './principal.js';
import type { PeerRecord } from './records.js';
import type { SigningKeyRing } from './signing-keys.js';
import type { AuditTrail, PeerLivenessRecorder, PeerLivenessSource, PeerStore } from './ports/index.js';
import * as v from './validation.js';

/**
 * The answer to VerifyPeerToken. A SUPERSEDED token still carries its claims,
 * because its holder may exchange it for a current one.
 */
export type Verification =
  | { valid: true; claims: PeerTokenClaims }
  | { valid: false; reason: TokenInvalidReason; claims?: PeerTokenClaims };

/** Token use cases: verify for media servers, refresh for peers, issue for backends, and the JWKS. */
export class TokenManager {
  constructor(
    private readonly tokens: PeerTokens,
    private readonly peers: PeerStore,
    private readonly liveness: PeerLivenessSource & PeerLivenessRecorder,
    private readonly keys: SigningKeyRing,
    private readonly clock: Clock,
    private readonly limits: Limits,
    private readonly audit: AuditTrail,
  ) {}

  /**
   * Verifies a token fully: signature, claims, environment, room, and that the
   * peer still exists at the token's permission generation.
   */
  async verify(principal: Principal, token: string, roomId: string): Promise<Verification> {
    ensureCan(principal, 'token:verify');
    if (roomId !== '') v.requireId('room_id', roomId);
    if (token === '') throw invalidArgument('token', 'is required');
    const checked = await this.tokens.check(token);
    if (!checked.valid) return checked;
    // Environment and room come before the liveness lookup, so a caller learns
    // nothing about whether another environment's peer still exists.
    if (checked.claims.environment !== principal.environment) return { valid: false, reason: 'WRONG_ENVIRONMENT' };
    if (roomId !== '' && checked.claims.roomId !== roomId) return { valid: false, reason: 'WRONG_ROOM' };
    return this.ensureLive(checked.claims);
  }

  /**
   * Checks a token cryptographically and against the peer's current state: a
   * deleted peer or room makes it REVOKED, a later permission change SUPERSEDED.
   * Used by VerifyPeerToken and by authentication of peer callers.
   */
  async verifyLive(token: string): Promise<Verification> {
    const checked = await this.tokens.check(token);
    return checked.valid ? this.ensureLive(checked.claims) : checked;
  }

  private async ensureLive(claims: PeerTokenClaims): Promise<Verification> {
    const live = await this.liveness.liveness(claims.environment, claims.roomId, claims.peerId);
    if (!live) return { valid: false, reason: 'REVOKED' };
    if (claims.generation < live.generation) return { valid: false, reason: 'SUPERSEDED', claims };
    return { valid: true, claims };
  }

  /** Issues a fresh token for the calling peer, with the peer's current permissions. */
  async refresh(principal: Principal, tokenTtlSeconds: number): Promise<IssuedPeerToken> {
    ensureCan(principal, 'token:refresh');
    if (principal.kind !== 'peer') throw new Error('unreachable: ensureCan admits peers only');
    const ttl = v.tokenTtl(tokenTtlSeconds, this.limits);
    const peer = await this.readPeer(principal.environment, principal.roomId, principal.peerId);
    if (!peer) throw new DomainError('ERR_UNAUTHENTICATED', 'invalid, expired or revoked credentials');
    return this.mint(peer, ttl);
  }

  /** Mints a token for an existing peer on behalf of a backend. */
  async issue(principal: Principal, roomId: string, peerId: string, tokenTtlSeconds: number): Promise<IssuedPeerToken> {
    v.requireId('room_id', roomId);
    v.requireId('peer_id', peerId);
    ensureCan(principal, 'peer:issue-token', { roomId, peerId });
    const ttl = v.tokenTtl(tokenTtlSeconds, this.limits);
    const peer = await this.readPeer(principal.environment, roomId, peerId);
    if (!peer) throw new DomainError('ERR_PEER_NOT_FOUND', 'peer not found');
    const issued = await this.mint(peer, ttl);
    // Minting a credential for someone writes nothing, yet belongs in the
    // audit log; the token is not handed out unless the record is written.
    await this.audit.recordAlone(principal.environment, [{ type: 'room', id: roomId }, { type: 'peer', id: peerId }]);
    return issued;
  }

  /** Reads a peer about to get a token, remembering its liveness for verifying that token. */
  private readPeer(environment: Principal['environment'], roomId: string, peerId: string): Promise<PeerRecord | undefined> {
    return this.liveness.record(
      environment,
      roomId,
      peerId,
      () => this.peers.get(environment, roomId, peerId),
      (peer) => peer && { generation: peer.generation, createdAt: peer.createdAt },
    );
  }

  /** The JSON Web Key Set, as text. */
  jwks(): string {
    return JSON.stringify(this.keys.jwks());
  }

  /**
   * Signs a token for `peer` that ends at the latest when the peer's session
   * does (created_at + maxPeerSessionSeconds): refreshing never extends a
   * session past that bound.
   */
  private async mint(peer: PeerRecord, ttlSeconds: number): Promise<IssuedPeerToken> {
    const sessionEnd = Math.floor(peer.createdAt.getTime() / 1000) + this.limits.maxPeerSessionSeconds;
    const stamp = this.tokens.stamp(ttlSeconds);
    if (sessionEnd <= stamp.issuedAt) {
      throw new DomainError(
        'ERR_PEER_SESSION_ENDED',
        `the peer's session reached its maximum lifetime (${this.limits.maxPeerSessionSeconds} s); create a new peer`,
      );
    }
    const capped = { ...stamp, expiresAt: Math.min(stamp.expiresAt, sessionEnd) };
    const token = await this.tokens.sign(tokenSubject(peer), capped);
    // CreatePeer refuses claims that make a token too long for a bearer
    // header; a peer created before that check may still have them, and a
    // token it could not use would only fail later, less clearly.
    const max = maxPeerTokenBytes(this.limits);
    if (token.length > max) {
      throw invalidArgument(
        'peer_id',
        `this peer's token would be ${token.length} bytes, over the ${max} bytes a bearer token may have; create a new peer with shorter metadata, identity or name`,
      );
    }
    return { token, expiresAt: new Date(capped.expiresAt * 1000) };
  }
}
