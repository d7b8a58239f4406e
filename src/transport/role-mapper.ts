import type { RoleRecord } from '../domain/roles.js';
import type { Role } from '../gen/roomgate/v1/resources.js';

/** Maps a stored role to the wire message; its internal id stays inside. */
export function toRole(r: RoleRecord): Role {
  return {
    name: r.name,
    permissions: { ...r.permissions },
    tokenTtlSeconds: r.tokenTtlSeconds,
    metadata: r.metadata,
    description: r.description,
    createTime: r.createdAt,
    updateTime: r.updatedAt,
  };
}
