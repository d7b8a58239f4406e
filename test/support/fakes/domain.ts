// One roomgate instance's domain layer over the in-memory stores, wired as
// src/main.ts and src/coherent-caches.ts wire it (liveness and management
// token caches in front of the stores, managers invalidating them after their
// writes), on a ManualClock. Isolation: every call builds fresh stores, a
// fresh signing key and fresh caches, so each test starts from an empty
// "database"; principals are built directly, without JWTs, as STYLE.md asks.
import { randomBytes, randomUUID } from 'node:crypto';
import type { AuditTarget } from '../../../src/domain/audit-record.js';
import type { CacheInvalidator } from '../../../src/domain/cache-invalidator.js';
import { NO_ROLES, type AuditTrail } from '../../../src/domain/ports/index.js';
import { ManualClock } from '../../../src/domain/clock.js';
import { KeyEncryptor } from '../../../src/domain/key-encryption.js';
import { PageTokens } from '../../../src/domain/pagination.js';
import { LastUsedTracker } from '../../../src/domain/last-used-tracker.js';
import { DEFAULT_LIMITS, type Limits } from '../../../src/domain/limits.js';
import { Authenticator } from '../../../src/domain/authenticator.js';
import { BanManager } from '../../../src/domain/ban-manager.js';
import { ManagementTokenCache } from '../../../src/domain/management-token-cache.js';
import { ManagementTokenManager } from '../../../src/domain/management-token-manager.js';
import { PeerLivenessCache } from '../../../src/domain/peer-liveness-cache.js';
import { PeerManager, type CreatePeerInput } from '../../../src/domain/peer-manager.js';
import { PeerTokens } from '../../../src/domain/peer-token.js';
import {
  NO_PERMISSIONS,
  type Environment,
  type ManagementPrincipal,
  type PeerPermissions,
  type PeerPrincipal,
  type Scope,
} from '../../../src/domain/principal.js';
import { RoomManager } from '../../../src/domain/room-manager.js';
import { SigningKeyRing } from '../../../src/domain/signing-keys.js';
import { TokenManager } from '../../../src/domain/token-manager.js';
import { MemoryBanStore } from './memory-ban-store.js';
import { MemoryManagementTokenStore } from './memory-management-token-store.js';
import { MemoryPeerStore } from './memory-peer-store.js';
import { MemoryPurgeStore } from './memory-purge-store.js';
import { MemoryRoomStore } from './memory-room-store.js';
import { MemorySigningKeyStore } from './memory-signing-key-store.js';
import { MemoryTables } from './memory-tables.js';

/** Where every test clock starts. */
export const T0 = new Date('2026-11-25T12:00:00Z');
/** `T0` in seconds, as JWT times are written. */
export const T0_SECONDS = T0.getTime() / 1000;
/** Seconds of clock skew the test instance tolerates on `exp` and `nbf`. */
export const TOLERANCE = 5;
/** The issuer of the test instance's peer tokens. */
export const ISSUER = 'roomgate-test';

/** Every peer permission granted. */
export const ALL_PERMISSIONS: PeerPermissions = Object.freeze({
  canPublish: true,
  canSubscribe: true,
  canUpdateMetadata: true,
  canUpdateRoom: true,
  canRemoveParticipants: true,
});

/** A management principal of `environment` holding `scopes` (an empty list is a token with no scope). */
export function management(scopes: Scope[], environment: Environment = 'sandbox'): ManagementPrincipal {
  return { kind: 'management', environment, tokenId: randomUUID(), scopes };
}

/** A peer principal for `peer`, with the given permissions (none by default). */
export function peerPrincipal(
  peer: { environment: Environment; roomId: string; id: string },
  permissions: Partial<PeerPermissions> = {},
  superseded = false,
): PeerPrincipal {
  return {
    kind: 'peer',
    environment: peer.environment,
    roomId: peer.roomId,
    peerId: peer.id,
    permissions: { ...NO_PERMISSIONS, ...permissions },
    tokenId: randomUUID(),
    superseded,
  };
}

/** A CreatePeer input with every field at its "unset" value. */
export function peerInput(roomId: string, fields: Partial<CreatePeerInput> = {}): CreatePeerInput {
  return { roomId, identity: '', name: '', metadata: '', permissions: undefined, tokenTtlSeconds: 0, requestId: '', role: '', ...fields };
}

/** A cache invalidator that forwards to the caches and remembers what it was told. */
export interface RecordingInvalidator extends CacheInvalidator {
  readonly calls: string[];
}

/** Builds the domain of one instance over fresh in-memory stores. */
export async function buildDomain(options: { limits?: Partial<Limits> } = {}) {
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const clock = new ManualClock(T0);
  const tables = new MemoryTables(clock);
  const roomStore = new MemoryRoomStore(tables);
  const peerStore = new MemoryPeerStore(tables);
  const banStore = new MemoryBanStore(tables);
  const managementTokenStore = new MemoryManagementTokenStore(clock);
  const signingKeyStore = new MemorySigningKeyStore();
  const ring = new SigningKeyRing(signingKeyStore, new KeyEncryptor(randomBytes(32)), clock, { reloadIntervalMs: 0 });
  await ring.init();
  const peerTokens = new PeerTokens(ring, clock, { issuer: ISSUER, clockToleranceSeconds: TOLERANCE });

  const cacheOptions = { maxEntries: 1000, isLive: () => true };
  const peerLiveness = new PeerLivenessCache(peerStore, cacheOptions);
  const managementTokenCache = new ManagementTokenCache(managementTokenStore, cacheOptions);
  const calls: string[] = [];
  const invalidate: RecordingInvalidator = {
    calls,
    peer: (id) => (calls.push(`peer:${id}`), peerLiveness.invalidatePeer(id)),
    room: (id) => (calls.push(`room:${id}`), peerLiveness.invalidateRoom(id)),
    managementToken: (id) => (calls.push(`mtoken:${id}`), managementTokenCache.invalidateToken(id)),
    all: () => (calls.push('all'), peerLiveness.flush(), managementTokenCache.flush()),
  };

  const usageWriteErrors: unknown[] = [];
  const lastUsed = new LastUsedTracker({
    write: (entries) => managementTokenStore.recordUse(entries),
    onError: (err) => usageWriteErrors.push(err),
  });
  // The audit log is Postgres's (test/integration/audit-*); here its calls are only noted.
  const auditCalls: { environment?: Environment; targets?: AuditTarget[]; refusal?: string }[] = [];
  const auditTrail: AuditTrail = {
    recordAlone: async (environment, targets) => void auditCalls.push({ environment, targets }),
    recordRefusal: async (refusal) => void auditCalls.push({ refusal }),
  };
  const tokens = new TokenManager(peerTokens, peerStore, peerLiveness, ring, clock, limits, auditTrail, NO_ROLES, invalidate);
  const pages = new PageTokens(randomBytes(32));
  return {
    limits,
    clock,
    tables,
    roomStore,
    peerStore,
    banStore,
    purgeStore: new MemoryPurgeStore(roomStore, peerStore),
    managementTokenStore,
    ring,
    peerTokens,
    invalidate,
    lastUsed,
    usageWriteErrors,
    auditCalls,
    tokens,
    pages,
    rooms: new RoomManager(roomStore, limits, invalidate, pages),
    peers: new PeerManager(peerStore, peerTokens, limits, invalidate, pages, peerLiveness),
    bans: new BanManager(banStore, limits, invalidate, pages),
    managementTokens: new ManagementTokenManager(managementTokenStore, clock, limits, invalidate, pages),
    authenticator: new Authenticator(managementTokenCache, tokens, lastUsed, clock, limits),
  };
}

/** What {@link buildDomain} returns. */
export type Domain = Awaited<ReturnType<typeof buildDomain>>;

/** Creates a room in `environment` through the RoomManager, as an admin of that environment would. */
export async function createRoom(d: Domain, environment: Environment = 'sandbox', maxPeers = 0) {
  return d.rooms.create(management(['admin'], environment), {
    name: '',
    maxPeers,
    metadata: '',
    requestId: '',
    peerlessPurgeTimeoutSeconds: 0,
    peerDisconnectedTimeoutSeconds: 0,
  });
}

/** Creates a peer (and its first token) in `roomId` through the PeerManager, as an admin would. */
export async function createPeer(d: Domain, roomId: string, fields: Partial<CreatePeerInput> = {}, environment: Environment = 'sandbox') {
  return d.peers.create(management(['admin'], environment), peerInput(roomId, fields));
}

/** A fresh domain with one sandbox room holding one peer (identity "alice" unless `fields` says otherwise). */
export async function withPeer(fields: Partial<CreatePeerInput> = {}) {
  const d = await buildDomain();
  const room = await createRoom(d);
  const created = await createPeer(d, room.id, { identity: 'alice', ...fields });
  return { d, room, peer: created.peer, token: created.token };
}

/** Verifies a peer token as a media server would: a sandbox management principal holding only the verify scope. */
export async function verifyToken(d: Domain, token: string, roomId = '') {
  return d.tokens.verify(management(['verify']), token, roomId);
}
