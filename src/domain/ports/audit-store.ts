import type { AuditRecord } from '../audit-record.js';
import type { Environment } from '../principal.js';

/** ListAuditEvents' filters; an unset one matches every record. */
export interface AuditFilter {
  actorId?: string;
  targetId?: string;
  method?: string;
  /** Inclusive. */
  start?: Date;
  /** Exclusive. */
  end?: Date;
}

/** The head of an environment's chain, and the anchor that retention left. */
export interface AuditChainHead {
  environment: Environment;
  /** Sequence of the last record appended; 0 before the first. */
  sequence: string;
  /** Hash of that record; GENESIS_HASH before the first. */
  hash: string;
  /** Sequence of the last record that retention deleted; 0 when none was. */
  anchorSequence: string;
  /** Hash of that record; GENESIS_HASH when none was. */
  anchorHash: string;
}

/** A record with its sequence as a page position, for {@link PageTokens}. */
export type ListedAuditRecord = AuditRecord & { seq: string };

/** A record as stored, with what verification must check beyond the hash. */
export type StoredAuditRecord = AuditRecord & {
  /**
   * Columns whose stored value disagrees with the hashed content although the
   * hash does not cover them (such as an actor column its kind leaves empty).
   */
  unhashed: string[];
};

/** Reading the audit log of one environment at a time, for ListAuditEvents. */
export interface AuditStore {
  /** Records matching `filter`, newest first (highest sequence first), below `beforeSequence` when set. */
  list(environment: Environment, filter: AuditFilter, beforeSequence: string | undefined, limit: number): Promise<ListedAuditRecord[]>;
}

/**
 * A consistent view of the whole log for `roomgate audit verify` and export:
 * every read made through it sees the same committed state, whatever is
 * appended or pruned meanwhile.
 */
export interface AuditSnapshot {
  head(environment: Environment): Promise<AuditChainHead>;
  /** Up to `limit` records after `afterSequence`, in chain order. */
  chain(environment: Environment, afterSequence: string, limit: number): Promise<StoredAuditRecord[]>;
  /**
   * Up to `limit` records with `start <= time < end` after position `after`
   * (time, then sequence), oldest first.
   */
  byTime(
    environment: Environment,
    range: { start: Date; end: Date | undefined },
    after: { time: Date; sequence: string } | undefined,
    limit: number,
  ): Promise<AuditRecord[]>;
}

/** Opens {@link AuditSnapshot}s. */
export interface AuditSnapshots {
  /** Runs `fn` on one snapshot, held open until it settles. */
  inSnapshot<T>(fn: (snapshot: AuditSnapshot) => Promise<T>): Promise<T>;
}

/** Audit retention, run by the purge scheduler. */
export interface AuditRetentionStore {
  /**
   * Deletes up to `limit` of `environment`'s oldest records, in chain order
   * and stopping at the first one newer than `retentionSeconds`, and moves the
   * chain's anchor to the last one deleted, in one transaction; returns how
   * many went.
   */
  pruneAuditEvents(environment: Environment, retentionSeconds: number, limit: number): Promise<number>;
}
