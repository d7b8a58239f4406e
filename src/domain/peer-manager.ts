import { randomUUID } from 'node:crypto';
import { banDuration, banReason, invalidateAfterBan, type BanRecord } from './bans.js';
import { DomainError, invalidArgument, throwIt } from './errors.js';
import { idempotencyKey } from './idempotency.js';
import type { Limits } from './limits.js';
import type { Page, PageTokens } from './pagination.js';
import { maxPeerTokenBytes, tokenSubject, type IssuedPeerToken, type PeerTokens } from './peer-token.js';
import { ensureCan } from './permissions.js';
import { NO_PERMISSIONS, type PeerPermissions, type Principal } from './principal.js';
import type { PeerRecord, TokenStamp } from './records.js';
import { thenInvalidate, type CacheInvalidator } from './cache-invalidator.js';
import { NO_LIVENESS_RECORDER, NO_ROLES, type NewPeer, type PeerLivenessRecorder, type PeerStore, type RoleLookup } from './ports/index.js';
import { roleName, roleNotFound, type RoleRecord } from './roles.js';
import * as v from './validation.js';

/** Input of CreatePeer, as received. */
export interface CreatePeerInput {
  roomId: string;
  identity: string;
  name: string;
  metadata: string;
  permissions: PeerPermissions | undefined;
  tokenTtlSeconds: number;
  requestId: string;
  /** A role's name, in place of `permissions`; '' for none. */
  role: string;
}

/** DeletePeer's ban, as received. */
export interface DeletePeerBanInput {
  environmentWide: boolean;
  durationSeconds: number;
  reason: string;
}

/** A new peer's permission generation (the peers.generation column's default). */
const FIRST_GENERATION = 1;

const notFound = () => new DomainError('ERR_PEER_NOT_FOUND', 'peer not found');

/** Peer use cases: validation, authorization, the store, and token issue. */
export class PeerManager {
  constructor(
    private readonly peers: PeerStore,
    private readonly tokens: PeerTokens,
    private readonly limits: Limits,
    private readonly invalidate: CacheInvalidator,
    private readonly pages: PageTokens,
    private readonly liveness: PeerLivenessRecorder = NO_LIVENESS_RECORDER,
    private readonly roles: RoleLookup = NO_ROLES,
  ) {}

  /** Creates a peer and its first token; a repeated request_id returns the same peer and token. */
  async create(principal: Principal, input: CreatePeerInput): Promise<{ peer: PeerRecord } & IssuedPeerToken> {
    const roomId = v.requireId('room_id', input.roomId);
    ensureCan(principal, 'peer:create', { roomId });
    const identity = v.text('identity', input.identity, this.limits);
    const name = v.text('name', input.name, this.limits);
    const ownMetadata = input.metadata === '' ? '' : v.jsonText('metadata', input.metadata, this.limits);
    const ownTtl = input.tokenTtlSeconds === 0 ? 0 : v.tokenTtl(input.tokenTtlSeconds, this.limits);
    const role = await this.roleOf(principal, input);
    // 0 and '' take the role's defaults, or else roomgate's.
    const metadata = ownMetadata || (role?.metadata ?? '{}');
    const ttl = Math.min(ownTtl || (role?.tokenTtlSeconds ?? this.limits.defaultTokenTtlSeconds), this.limits.maxPeerSessionSeconds);
    const permissions = { ...NO_PERMISSIONS, ...(role ? role.permissions : input.permissions) };
    // The fingerprint is of the request as sent: a role's defaults may change
    // between a request and its retry, which must still replay. Without a
    // role it is what it always was, so keys stored before still match.
    const key = idempotencyKey(
      v.requestId(input.requestId),
      role
        ? { roomId, identity, name, role: role.name, metadata: input.metadata, ttl: input.tokenTtlSeconds }
        : { roomId, identity, name, metadata, ttl, permissions },
    );
    const id = randomUUID();
    const draft = {
      id,
      roomId,
      environment: principal.environment,
      // An empty identity defaults to the peer id, which is unique by construction.
      identity: identity === '' ? id : identity,
      name,
      metadata,
      // With a role, the store gives the peer the role's permissions as they
      // are when it inserts it, under the role's lock (PeerStore.create).
      permissions,
      role: role?.name ?? '',
      roleId: role?.id ?? null,
    };
    return this.admit(draft, ttl, (newPeer) => this.peers.create(newPeer, key));
  }

  /**
   * Makes a new peer with `write` (the store call that inserts it, given the
   * peer with its first token's stamp) and signs that token: the one way a
   * new peer gets its token (CreatePeer, RedeemJoinCode). `ttl` is in seconds,
   * already within the limits.
   */
  async admit(
    draft: Omit<NewPeer, 'stamp'>,
    ttl: number,
    write: (peer: NewPeer) => Promise<{ peer: PeerRecord; stamp: TokenStamp; replayed: boolean }>,
  ): Promise<{ peer: PeerRecord } & IssuedPeerToken> {
    const newPeer = { ...draft, stamp: this.tokens.stamp(ttl) };
    this.ensureTokensFit(newPeer);
    // Its token is about to be verified: remember that the peer is live, as a
    // liveness lookup would, under the same invalidation rules.
    const { peer, stamp, replayed } = await this.liveness.record(
      draft.environment,
      draft.roomId,
      draft.id,
      () => write(newPeer),
      (r) => (r.replayed ? undefined : { generation: r.peer.generation, createdAt: r.peer.createdAt }),
    );
    // A retry re-signs the first token's stamp, byte for byte the first token.
    // Once the peer's permissions have changed, its claims would differ under
    // the same jti (RFC 7519 4.1.7: a jti names one token), so the retry gets
    // a new jti, with the first token's expiry, for the peer as it is now.
    const signed =
      replayed && peer.generation !== FIRST_GENERATION ? { ...this.tokens.stamp(ttl), expiresAt: stamp.expiresAt } : stamp;
    const token = await this.tokens.sign(tokenSubject(peer), signed);
    return { peer, token, expiresAt: new Date(signed.expiresAt * 1000) };
  }

  /** The role CreatePeer names, if any; permissions must then be unset. */
  private async roleOf(principal: Principal, input: CreatePeerInput): Promise<RoleRecord | undefined> {
    if (input.role === '') return undefined;
    const name = roleName('role', input.role);
    if (input.permissions !== undefined) {
      throw invalidArgument('permissions', `must be unset when role is set: role "${name}" gives the permissions`, { role: name });
    }
    return (await this.roles.get(principal.environment, name)) ?? throwIt(roleNotFound(name));
  }

  /**
   * Refuses a peer whose tokens would not fit in a bearer header: such a
   * token verifies but can never authenticate a call, not even its own
   * refresh. The claims are JSON-escaped (a quote or backslash in metadata
   * takes two bytes) and then base64url-encoded (4/3), so the bound is on the
   * encoded token, not on the fields. It is checked for the worst later token
   * of this peer: the largest generation and all permissions false (the
   * longest spelling); identity, name and metadata never change.
   */
  private ensureTokensFit(peer: Pick<PeerRecord, 'id' | 'roomId' | 'environment' | 'identity' | 'name' | 'metadata'> & { stamp: TokenStamp }): void {
    const worst = tokenSubject({ ...peer, permissions: NO_PERMISSIONS, generation: Number.MAX_SAFE_INTEGER });
    const bytes = this.tokens.encodedLength(worst, peer.stamp);
    const max = maxPeerTokenBytes(this.limits);
    if (bytes > max) {
      throw invalidArgument(
        'metadata',
        `the peer token would be ${bytes} bytes, over the ${max} bytes a bearer token may have (the ${this.limits.maxAuthorizationBytes}-byte authorization limit); ` +
          'shorten metadata, identity or name (inside the token each quote or backslash takes two bytes, and base64url adds a third)',
      );
    }
  }

  /** Returns one peer. */
  async get(principal: Principal, roomId: string, peerId: string): Promise<PeerRecord> {
    v.requireId('room_id', roomId);
    v.requireId('peer_id', peerId);
    ensureCan(principal, 'peer:read', { roomId, peerId });
    return (await this.peers.get(principal.environment, roomId, peerId)) ?? throwIt(notFound());
  }

  /** Lists the peers of a room, oldest first. */
  async list(principal: Principal, roomId: string, pageSize: number, pageToken: string): Promise<Page<PeerRecord>> {
    v.requireId('room_id', roomId);
    ensureCan(principal, 'peer:list', { roomId });
    const size = v.pageSize(pageSize, this.limits);
    const scope = { environment: principal.environment, list: 'peers', within: roomId } as const;
    const rows = await this.peers.list(principal.environment, roomId, this.pages.decode(scope, pageToken), size + 1);
    if (!rows) throw new DomainError('ERR_ROOM_NOT_FOUND', 'room not found');
    return this.pages.page(scope, rows, size);
  }

  /**
   * Removes a peer; its tokens stop verifying because the peer is gone. With
   * `ban`, bans its identity in the same transaction and returns the ban (the
   * new one, or the active one of the same scope, kept unchanged).
   */
  async delete(principal: Principal, roomId: string, peerId: string, ban?: DeletePeerBanInput): Promise<BanRecord | undefined> {
    v.requireId('room_id', roomId);
    v.requireId('peer_id', peerId);
    ensureCan(principal, 'peer:delete', { roomId, peerId });
    if (ban) return this.deleteAndBan(principal, roomId, peerId, ban);
    const deleted = await thenInvalidate(this.peers.delete(principal.environment, roomId, peerId), () =>
      this.invalidate.peer(peerId),
    );
    if (!deleted) throw notFound();
    return undefined;
  }

  private async deleteAndBan(principal: Principal, roomId: string, peerId: string, input: DeletePeerBanInput): Promise<BanRecord> {
    // Only backends ban: a peer token with can_remove_participants may kick, not ban.
    ensureCan(principal, 'ban:manage');
    const terms = {
      id: randomUUID(),
      roomId: input.environmentWide ? null : roomId,
      durationSeconds: banDuration('ban.duration_seconds', input.durationSeconds),
      reason: banReason('ban.reason', input.reason, this.limits),
    };
    const outcome = await invalidateAfterBan(
      this.peers.deleteAndBan(principal.environment, roomId, peerId, terms, this.limits.maxBansPerEnvironment),
      this.invalidate,
    );
    return outcome?.ban ?? throwIt(notFound());
  }

  /** Replaces the peer's client metadata. */
  async updateClientMetadata(
    principal: Principal,
    roomId: string,
    peerId: string,
    clientMetadata: string,
  ): Promise<PeerRecord> {
    v.requireId('room_id', roomId);
    v.requireId('peer_id', peerId);
    ensureCan(principal, 'peer:update-client-metadata', { roomId, peerId });
    const json = v.jsonText('client_metadata', clientMetadata, this.limits, this.limits.maxClientMetadataBytes);
    return (await this.peers.updateClientMetadata(principal.environment, roomId, peerId, json)) ?? throwIt(notFound());
  }

  /** Records the connection state a media server reports. */
  async reportStatus(principal: Principal, roomId: string, peerId: string, status: string): Promise<PeerRecord> {
    v.requireId('room_id', roomId);
    v.requireId('peer_id', peerId);
    ensureCan(principal, 'peer:report-status', { roomId, peerId });
    if (status !== 'connected' && status !== 'disconnected') {
      throw invalidArgument('status', 'must be PEER_STATUS_CONNECTED or PEER_STATUS_DISCONNECTED');
    }
    return (await this.peers.reportStatus(principal.environment, roomId, peerId, status)) ?? throwIt(notFound());
  }

  /** Replaces the permissions; tokens issued before stop verifying (SUPERSEDED). */
  async updatePermissions(
    principal: Principal,
    roomId: string,
    peerId: string,
    permissions: PeerPermissions | undefined,
  ): Promise<PeerRecord> {
    v.requireId('room_id', roomId);
    v.requireId('peer_id', peerId);
    ensureCan(principal, 'peer:update-permissions', { roomId, peerId });
    if (!permissions) throw invalidArgument('permissions', 'is required (it replaces all five)');
    const updated = await thenInvalidate(
      this.peers.updatePermissions(principal.environment, roomId, peerId, { ...NO_PERMISSIONS, ...permissions }),
      () => this.invalidate.peer(peerId),
    );
    return updated ?? throwIt(notFound());
  }
}
