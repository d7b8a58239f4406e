import type { BanRecord } from '../domain/bans.js';
import { Environment, type Ban } from '../gen/roomgate/v1/resources.js';

/** Maps a stored ban to the wire message: no room is an empty room_id, no expiry an unset expire_time. */
export function toBan(b: BanRecord): Ban {
  return {
    id: b.id,
    environment: b.environment === 'production' ? Environment.ENVIRONMENT_PRODUCTION : Environment.ENVIRONMENT_SANDBOX,
    identity: b.identity,
    roomId: b.roomId ?? '',
    reason: b.reason,
    createTime: b.createdAt,
    expireTime: b.expiresAt ?? undefined,
  };
}
