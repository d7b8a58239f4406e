import type { JoinCodeKind as DomainKind, JoinCodeRecord } from '../domain/join-codes.js';
import { JoinCodeKind, type JoinCode } from '../gen/roomgate/v1/resources.js';

/** Maps a stored join code to the wire message; it never carries the code. */
export function toJoinCode(r: JoinCodeRecord): JoinCode {
  return {
    id: r.id,
    roomId: r.roomId,
    role: r.role,
    kind: r.kind === 'short' ? JoinCodeKind.JOIN_CODE_KIND_SHORT : JoinCodeKind.JOIN_CODE_KIND_LINK,
    codeHint: r.hint,
    identity: r.identity,
    maxUses: r.maxUses,
    useCount: r.useCount,
    createTime: r.createdAt,
    expireTime: r.expiresAt,
    revoked: r.revokedAt !== null,
    revokeTime: r.revokedAt ?? undefined,
    appUrl: r.appUrl,
    description: r.description,
  };
}

/** The wire kind → domain; UNSPECIFIED is a link code, an unknown value undefined for validation to refuse. */
export function fromJoinCodeKind(kind: JoinCodeKind): DomainKind | undefined {
  if (kind === JoinCodeKind.JOIN_CODE_KIND_UNSPECIFIED || kind === JoinCodeKind.JOIN_CODE_KIND_LINK) return 'link';
  return kind === JoinCodeKind.JOIN_CODE_KIND_SHORT ? 'short' : undefined;
}
