import { createHash } from 'node:crypto';
import type { Environment } from './principal.js';

// The audit log's record and its hash chain. The canonical form below is what
// `roomgate audit verify` recomputes; changing it breaks every existing chain,
// so a new form needs a new version tag, and verification must keep the old.

/** Who made an audited call; never the credential itself. */
export type AuditActor =
  | { kind: 'management_token'; tokenId: string; name: string; hint: string }
  | { kind: 'peer_token'; peerId: string; roomId: string }
  | { kind: 'cli'; osUser: string }
  /** RedeemJoinCode's caller, who has no credential but the code: named by the code's id. */
  | { kind: 'join_code'; joinCodeId: string };

/** Kinds of resource an audited call acts on. */
export type AuditTargetType =
  | 'room'
  | 'peer'
  | 'ban'
  | 'webhook_endpoint'
  | 'event'
  | 'management_token'
  | 'signing_key'
  | 'role'
  | 'join_code'
  | 'join_settings';

/** Something an audited call acted on. */
export interface AuditTarget {
  type: AuditTargetType;
  id: string;
}

/** A record's content: everything the hash covers besides the previous hash. */
export interface AuditContent {
  environment: Environment;
  /** Position in the environment's chain, from 1 (a decimal string: it is a bigint). */
  sequence: string;
  id: string;
  /** Millisecond precision: the database stores it as hashed. */
  time: Date;
  actor: AuditActor;
  /** Full RPC name (`roomgate.v1.RoomService/CreateRoom`) or `cli <command>`. */
  method: string;
  targets: readonly AuditTarget[];
  requestId: string;
  /** gRPC status name: OK or PERMISSION_DENIED. */
  result: string;
  /** The roomgate error code when the call failed; empty otherwise. */
  errorReason: string;
}

/** A stored record. */
export interface AuditRecord extends AuditContent {
  /** `hash` of the previous record of the environment (hex); {@link GENESIS_HASH} for the first. */
  previousHash: string;
  /** {@link auditHash} of this record (hex). */
  hash: string;
}

/** The previous hash of an environment's first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** The actor's id as stored and filtered on: token id, peer id, OS user or join code id. */
export function actorIdOf(actor: AuditActor): string {
  switch (actor.kind) {
    case 'management_token':
      return actor.tokenId;
    case 'peer_token':
      return actor.peerId;
    case 'cli':
      return actor.osUser;
    case 'join_code':
      return actor.joinCodeId;
  }
}

/** The actor as its stored fields (actor_id, actor_name, actor_hint, actor_room_id), empty where its kind has none. */
export function actorFieldsOf(actor: AuditActor): { id: string; name: string; hint: string; roomId: string } {
  return {
    id: actorIdOf(actor),
    name: actor.kind === 'management_token' ? actor.name : '',
    hint: actor.kind === 'management_token' ? actor.hint : '',
    roomId: actor.kind === 'peer_token' ? actor.roomId : '',
  };
}

/**
 * SHA-256 (hex) of a record's canonical form: a JSON array of its fields in a
 * fixed order, ending with the previous record's hash. JSON escapes every
 * string, so no field can forge another's boundary.
 */
export function auditHash(content: AuditContent, previousHash: string): string {
  return createHash('sha256').update(auditCanonicalForm(content, previousHash)).digest('hex');
}

/** The text {@link auditHash} hashes (UTF-8). */
export function auditCanonicalForm(content: AuditContent, previousHash: string): string {
  const a = actorFieldsOf(content.actor);
  return JSON.stringify([
    'roomgate.audit.v1',
    content.environment,
    content.sequence,
    content.id,
    content.time.toISOString(),
    content.actor.kind,
    a.id,
    a.name,
    a.hint,
    a.roomId,
    content.method,
    content.targets.map((t) => [t.type, t.id]),
    content.requestId,
    content.result,
    content.errorReason,
    previousHash,
  ]);
}
