import type { BanRecord, BanTerms } from '../bans.js';
import type { Environment } from '../principal.js';

/** A ban to make: its terms, in an environment, under a new id. */
export type NewBan = BanTerms & { id: string; environment: Environment };

/** What making a ban did. */
export interface BanOutcome {
  /** The ban made, or the active ban of the same identity and scope that was kept. */
  ban: BanRecord;
  /** Whether {@link ban} was made by this call. */
  created: boolean;
  /** The peers deleted (their tokens revoked, cause banned). */
  deletedPeerIds: string[];
}

/** ListBans' filters; an unset one matches every ban. */
export interface BanFilter {
  roomId?: string;
  identity?: string;
}

/**
 * Bans of all environments. Only active bans (no expiry, or one after the
 * database's now()) are ever returned; an expired ban not yet swept is as
 * good as gone.
 */
export interface BanStore {
  /**
   * In one transaction, serialized with CreatePeer of the same identity:
   * inserts the ban, deletes the identity's peers in its scope (each with the
   * events and revocation notice of DeletePeer, cause banned) and writes
   * ban_created. Fails with ERR_BAN_EXISTS when an active ban of the same
   * identity and scope exists, ERR_ROOM_NOT_FOUND for a room not in the
   * environment, and ERR_BAN_QUOTA_EXCEEDED when the environment has
   * `maxActiveBans` active bans.
   */
  create(ban: NewBan, maxActiveBans: number): Promise<BanOutcome>;
  get(environment: Environment, banId: string): Promise<BanRecord | undefined>;
  /** Active bans, newest first (highest seq first), below `beforeSeq` when set. */
  list(environment: Environment, filter: BanFilter, beforeSeq: string | undefined, limit: number): Promise<BanRecord[]>;
  /** Deletes an active ban with its ban_lifted event; undefined when there is none. */
  lift(environment: Environment, banId: string): Promise<BanRecord | undefined>;
}
