import type { JoinCodeKind, JoinCodeRecord, JoinRole } from '../domain/join-codes.js';
import type { Environment } from '../domain/principal.js';

/** A join_codes row as pg returns it (never the hash). */
export interface JoinCodeRow {
  id: string;
  seq: string;
  environment: Environment;
  room_id: string;
  role_id: string | null;
  role_name: string;
  kind: JoinCodeKind;
  code_hint: string;
  identity: string;
  max_uses: number;
  use_count: number;
  app_url: string;
  description: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

/** The join_codes columns {@link toJoinCode} reads, from `join_codes c`; never code_hash. */
export const JOIN_CODE_COLUMNS = `c.id, c.seq, c.environment, c.room_id, c.role_id, c.role_name, c.kind, c.code_hint, c.identity,
  c.max_uses, c.use_count, c.app_url, c.description, c.created_at, c.expires_at, c.revoked_at`;

/**
 * Whether `join_codes c` can be redeemed now, in the database's time (every
 * instance's one clock): not revoked, not expired, not used up, and its role
 * not deleted.
 */
export const JOIN_CODE_REDEEMABLE = 'c.revoked_at IS NULL AND c.expires_at > now() AND c.use_count < c.max_uses AND c.role_id IS NOT NULL';

/** A row as the domain's record. */
export function toJoinCode(r: JoinCodeRow): JoinCodeRecord {
  return {
    id: r.id,
    seq: r.seq,
    environment: r.environment,
    roomId: r.room_id,
    role: r.role_name,
    roleId: r.role_id,
    kind: r.kind,
    hint: r.code_hint,
    identity: r.identity,
    maxUses: r.max_uses,
    useCount: r.use_count,
    appUrl: r.app_url,
    description: r.description,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

/** A roles row's columns a redemption applies, prefixed `role_` next to a code's. */
export interface JoinRoleRow {
  role_token_ttl_seconds: number;
  role_metadata: string;
  role_can_publish: boolean;
  role_can_subscribe: boolean;
  role_can_update_metadata: boolean;
  role_can_update_room: boolean;
  role_can_remove_participants: boolean;
}

/** The roles columns of {@link JoinRoleRow}, from `roles r`. */
export const JOIN_ROLE_COLUMNS = `r.token_ttl_seconds AS role_token_ttl_seconds, r.metadata AS role_metadata,
  r.can_publish AS role_can_publish, r.can_subscribe AS role_can_subscribe, r.can_update_metadata AS role_can_update_metadata,
  r.can_update_room AS role_can_update_room, r.can_remove_participants AS role_can_remove_participants`;

/** The role of a code row joined with its role. */
export function toJoinRole(r: JoinCodeRow & JoinRoleRow): JoinRole {
  return {
    id: r.role_id as string,
    name: r.role_name,
    tokenTtlSeconds: r.role_token_ttl_seconds,
    metadata: r.role_metadata,
    permissions: {
      canPublish: r.role_can_publish,
      canSubscribe: r.role_can_subscribe,
      canUpdateMetadata: r.role_can_update_metadata,
      canUpdateRoom: r.role_can_update_room,
      canRemoveParticipants: r.role_can_remove_participants,
    },
  };
}
