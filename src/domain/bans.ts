import type { CacheInvalidator } from './cache-invalidator.js';
import { DomainError, invalidArgument } from './errors.js';
import type { Limits } from './limits.js';
import type { Environment } from './principal.js';
import * as v from './validation.js';

/** A ban as stored: an identity kept out of one room, or (roomId null) out of the whole environment. */
export interface BanRecord {
  id: string;
  environment: Environment;
  identity: string;
  /** The room banned from; null for every room of the environment. */
  roomId: string | null;
  reason: string;
  createdAt: Date;
  /** When the ban ends by itself; null when it lasts until lifted. */
  expiresAt: Date | null;
  /** Insertion sequence, the pagination key. */
  seq: string;
}

/** What a ban is made of, once validated; the store adds the times. */
export interface BanTerms {
  identity: string;
  roomId: string | null;
  /** Seconds the ban lasts; 0 until lifted. */
  durationSeconds: number;
  reason: string;
}

/** Longest a ban with a duration may last: 10 years. Longer is a ban until lifted (duration 0). */
export const MAX_BAN_DURATION_SECONDS = 10 * 365 * 86_400;

/** Longest ban reason, in characters. */
export const MAX_BAN_REASON_LENGTH = 512;

/** Validates duration_seconds: 0 (until lifted) or up to {@link MAX_BAN_DURATION_SECONDS}. */
export function banDuration(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_BAN_DURATION_SECONDS) {
    throw invalidArgument(field, `must be 0 (until lifted) or at most ${MAX_BAN_DURATION_SECONDS} (10 years)`);
  }
  return value;
}

/** Validates a ban reason: text for people, up to {@link MAX_BAN_REASON_LENGTH} characters, no control or invisible characters. */
export function banReason(field: string, value: string, limits: Limits): string {
  // The same character rules as identities and names, with the reason's own length.
  return v.text(field, value, { ...limits, maxIdentityLength: MAX_BAN_REASON_LENGTH });
}

/** Validates a banned identity: as Peer.identity, but required. */
export function banIdentity(value: string, limits: Limits): string {
  return v.text('identity', value, limits, { required: true });
}

/** ERR_BAN_NOT_FOUND. */
export const banNotFound = () => new DomainError('ERR_BAN_NOT_FOUND', 'ban not found');

/** How a ban's scope reads in messages. */
export function banScope(ban: Pick<BanRecord, 'roomId'>): string {
  return ban.roomId === null ? 'every room of the environment' : `room ${ban.roomId}`;
}

function until(ban: Pick<BanRecord, 'expiresAt'>): string {
  return ban.expiresAt === null ? 'until lifted' : `until ${ban.expiresAt.toISOString()}`;
}

/** ERR_BAN_EXISTS: CreateBan of an identity already banned with the same scope. */
export function banExists(ban: BanRecord): DomainError {
  return new DomainError(
    'ERR_BAN_EXISTS',
    `identity is already banned from ${banScope(ban)} (ban ${ban.id}, ${until(ban)}); lift it with DeleteBan first to change it`,
    { metadata: { banId: ban.id } },
  );
}

/**
 * ERR_IDENTITY_BANNED: CreatePeer of a banned identity. The message names the
 * ban but never its reason: the backend may pass it on to the banned user.
 */
export function identityBanned(ban: BanRecord): DomainError {
  return new DomainError(
    'ERR_IDENTITY_BANNED',
    `identity is banned from ${banScope(ban)} (ban ${ban.id}, ${until(ban)})`,
    { metadata: { banId: ban.id } },
  );
}

/** ERR_BAN_QUOTA_EXCEEDED. */
export function banQuotaExceeded(limit: number): DomainError {
  return new DomainError(
    'ERR_BAN_QUOTA_EXCEEDED',
    `the environment already has ${limit} active bans, its limit (ROOMGATE_MAX_BANS_PER_ENVIRONMENT); lift bans first`,
  );
}

/**
 * Runs a write that bans, then drops the cached liveness of the peers it
 * deleted, so this instance refuses their tokens at once (the others hear the
 * revocation notices). A failure the database may still have committed (the
 * connection lost or timed out around COMMIT) deleted peers no one can name:
 * every cache is flushed.
 */
export async function invalidateAfterBan<T extends { deletedPeerIds: string[] } | undefined>(
  write: Promise<T>,
  invalidate: CacheInvalidator,
): Promise<T> {
  let outcome: T;
  try {
    outcome = await write;
  } catch (err) {
    if (!(err instanceof DomainError) || err.code === 'ERR_DB_UNAVAILABLE' || err.code === 'ERR_DB_TIMEOUT') invalidate.all();
    throw err;
  }
  for (const peerId of outcome?.deletedPeerIds ?? []) invalidate.peer(peerId);
  return outcome;
}
