import type { AuditActor as DomainActor, AuditRecord } from '../domain/audit-record.js';
import { AuditActorKind, AuditEvent, Environment, type AuditActor } from '../gen/roomgate/v1/resources.js';

function toActor(a: DomainActor): AuditActor {
  const none = { managementTokenId: '', managementTokenName: '', managementTokenHint: '', peerId: '', roomId: '', osUser: '', joinCodeId: '' };
  switch (a.kind) {
    case 'management_token':
      return {
        ...none,
        kind: AuditActorKind.AUDIT_ACTOR_KIND_MANAGEMENT_TOKEN,
        managementTokenId: a.tokenId,
        managementTokenName: a.name,
        managementTokenHint: a.hint,
      };
    case 'peer_token':
      return { ...none, kind: AuditActorKind.AUDIT_ACTOR_KIND_PEER_TOKEN, peerId: a.peerId, roomId: a.roomId };
    case 'cli':
      return { ...none, kind: AuditActorKind.AUDIT_ACTOR_KIND_CLI, osUser: a.osUser };
    case 'join_code':
      return { ...none, kind: AuditActorKind.AUDIT_ACTOR_KIND_JOIN_CODE, joinCodeId: a.joinCodeId };
  }
}

/** Maps a stored audit record to the wire message. */
export function toAuditEvent(r: AuditRecord): AuditEvent {
  return {
    id: r.id,
    sequence: r.sequence,
    time: r.time,
    environment: r.environment === 'production' ? Environment.ENVIRONMENT_PRODUCTION : Environment.ENVIRONMENT_SANDBOX,
    actor: toActor(r.actor),
    method: r.method,
    targets: r.targets.map((t) => ({ type: t.type, id: t.id })),
    requestId: r.requestId,
    result: r.result,
    errorReason: r.errorReason,
    previousHash: r.previousHash,
    hash: r.hash,
  };
}

/**
 * A record as one line of `roomgate audit export`: AuditEvent in the proto3
 * JSON mapping (lowerCamelCase names, enum names, the uint64 sequence as a
 * string, RFC 3339 times), but with every field present, empty ones too, so
 * that line-oriented tools need not know the proto's defaults.
 */
export function toAuditEventJson(r: AuditRecord): Record<string, unknown> {
  const wire = toAuditEvent(r);
  const actor = wire.actor!;
  return {
    id: wire.id,
    sequence: wire.sequence,
    time: r.time.toISOString(),
    environment: Environment[wire.environment],
    actor: { ...actor, kind: AuditActorKind[actor.kind] },
    method: wire.method,
    targets: wire.targets,
    requestId: wire.requestId,
    result: wire.result,
    errorReason: wire.errorReason,
    previousHash: wire.previousHash,
    hash: wire.hash,
  };
}
