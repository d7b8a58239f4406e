import type { JoinCodeKind, JoinCodeRecord, RedeemableJoinCode } from '../join-codes.js';
import type { Environment } from '../principal.js';
import type { PeerRecord, TokenStamp } from '../records.js';
import type { NewPeer } from './peer-store.js';

/** A join code to store: everything but what the database fills in. */
export interface NewJoinCode {
  id: string;
  environment: Environment;
  roomId: string;
  /** The role's name, looked up in the environment. */
  role: string;
  kind: JoinCodeKind;
  hash: Buffer;
  hint: string;
  identity: string;
  maxUses: number;
  appUrl: string;
  description: string;
  expiresAt: Date;
}

/** ListJoinCodes' filter; unset matches every code of the environment. */
export interface JoinCodeFilter {
  roomId?: string;
}

/** How many codes that can still be redeemed an environment may hold: in all, and of them short ones. */
export interface RedeemableQuota {
  all: number;
  short: number;
}

/** Join codes of all environments. Only hashes are stored. */
export interface JoinCodeStore {
  /**
   * Inserts a code, serialized with the environment's other new codes:
   * ERR_ROOM_NOT_FOUND when the room is not in the environment,
   * ERR_ROLE_NOT_FOUND for an unknown role, ERR_APP_URL_NOT_ALLOWED when
   * appUrl is set and not one of the environment's allowed app URLs, and
   * ERR_JOIN_CODE_QUOTA_EXCEEDED when the environment already has
   * `maxRedeemable` codes that can still be redeemed.
   */
  create(code: NewJoinCode, maxRedeemable: RedeemableQuota): Promise<JoinCodeRecord>;
  get(environment: Environment, id: string): Promise<JoinCodeRecord | undefined>;
  /** Codes newest first (highest seq first), below `beforeSeq` when set. */
  list(environment: Environment, filter: JoinCodeFilter, beforeSeq: string | undefined, limit: number): Promise<JoinCodeRecord[]>;
  /** Revokes a code; a revoked code is returned unchanged. Undefined when there is none. */
  revoke(environment: Environment, id: string): Promise<JoinCodeRecord | undefined>;
  /**
   * The code with this hash, if it can be redeemed now (not revoked, expired
   * or used up, and its role exists), with its role and the environment's
   * allowed app URLs; undefined otherwise, whichever the reason.
   */
  findRedeemable(hash: Buffer): Promise<RedeemableJoinCode | undefined>;
  /**
   * In one transaction: makes `peer` as PeerStore.create does (with its
   * errors), then counts the use under the code's row lock, failing with
   * ERR_JOIN_CODE_INVALID when the code stopped being redeemable meanwhile
   * (nothing is then kept), and writes the join_code_redeemed event. The
   * redemption is audited with the code as its actor.
   */
  redeem(code: JoinCodeRecord, peer: NewPeer): Promise<{ peer: PeerRecord; stamp: TokenStamp; replayed: boolean }>;
}

/** The purge of long-dead join codes. */
export interface JoinCodePurgeStore {
  /**
   * Deletes up to `limit` codes that stopped working (expired, were revoked
   * or were used up) more than `retentionSeconds` ago, in the database's
   * time, oldest first; returns how many.
   */
  purgeDeadJoinCodes(retentionSeconds: number, limit: number): Promise<number>;
}
