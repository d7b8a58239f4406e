import type { Clock } from './clock.js';
import { DomainError, invalidArgument } from './errors.js';
import type { Limits } from './limits.js';
import { maxPeerTokenBytes, tokenSubject, type IssuedPeerToken, type PeerTokenClaims, type PeerTokens, type TokenInvalidReason } from './peer-token.js';
import { ensureCan } from './permissions.js';
import type { Principal } from './principal.js';
import type { PeerRecord } from './records.js';
import type { SigningKeyRing } from './signing-keys.js';
import { thenInvalidate, type CacheInvalidator } from './cache-invalidator.js';
import { throwIt } from './errors.js';
import type { AuditTrail, PeerLivenessRecorder, PeerLivenessSource, PeerStore, RoleLookup } from './ports/index.js';
import { roleName, roleNotFound, type RoleRecord } from './roles.js';
import * as v from './validation.js';

const peerNotFound = () => new DomainError('ERR_PEER_NOT_FOUND', 'peer not found');

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
    private readonly roles: RoleLookup,
    private readonly invalidate: CacheInvalidator,
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

  /**
   * Mints a token for an existing peer on behalf of a backend. With `role`,
   * the peer first takes the role's permissions and records the role (as
   * UpdatePeer would, superseding earlier tokens when the permissions
   * differ), and a lifetime of 0 is the role's default.
   */
  async issue(principal: Principal, roomId: string, peerId: string, tokenTtlSeconds: number, role = ''): Promise<IssuedPeerToken> {
    v.requireId('room_id', roomId);
    v.requireId('peer_id', peerId);
    ensureCan(principal, 'peer:issue-token', { roomId, peerId });
    const ownTtl = tokenTtlSeconds === 0 ? 0 : v.tokenTtl(tokenTtlSeconds, this.limits);
    const given = role === '' ? undefined : await this.roleNamed(principal, role);
    const ttl = ownTtl || (given?.tokenTtlSeconds ?? this.limits.defaultTokenTtlSeconds);
    let peer = await this.readPeer(principal.environment, roomId, peerId);
    if (!peer) throw peerNotFound();
    if (given) {
      // The session is checked before the write: a peer whose session has
      // ended must not change permissions for a token it cannot get.
      this.sessionEnd(peer);
      const assigned = this.peers.assignRole(principal.environment, roomId, peerId, given);
      peer = (await thenInvalidate(assigned, () => this.invalidate.peer(peerId))) ?? throwIt(peerNotFound());
    }
    const issued = await this.mint(peer, ttl);
    // Minting a credential for someone writes nothing, yet belongs in the
    // audit log; the token is not handed out unless the record is written.
    // (A role's write has recorded the call already; this is then a no-op.)
    await this.audit.recordAlone(principal.environment, [{ type: 'room', id: roomId }, { type: 'peer', id: peerId }]);
    return issued;
  }

  private async roleNamed(principal: Principal, role: string): Promise<RoleRecord> {
    const name = roleName('role', role);
    return (await this.roles.get(principal.environment, name)) ?? throwIt(roleNotFound(name));
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

  /** When the peer's session ends (created_at + maxPeerSessionSeconds); ERR_PEER_SESSION_ENDED when it has. */
  private sessionEnd(peer: PeerRecord): number {
    const end = Math.floor(peer.createdAt.getTime() / 1000) + this.limits.maxPeerSessionSeconds;
    if (end <= Math.floor(this.clock.now().getTime() / 1000)) {
      throw new DomainError(
        'ERR_PEER_SESSION_ENDED',
        `the peer's session reached its maximum lifetime (${this.limits.maxPeerSessionSeconds} s); create a new peer`,
      );
    }
    return end;
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
    const sessionEnd = this.sessionEnd(peer);
    const stamp = this.tokens.stamp(ttlSeconds);
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
