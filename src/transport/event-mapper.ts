import type { EventPayload, EventType as DomainEventType, RevocationCause as DomainCause, RoomEvent } from '../domain/events.js';
import { EventType, RevocationCause, type Event } from '../gen/roomgate/v1/events.js';
import { Environment } from '../gen/roomgate/v1/resources.js';
import { toBan } from './ban-mapper.js';
import { toJoinCode } from './join-code-mapper.js';
import { toPeer, toRoom } from './mappers.js';

/** Domain event type → wire enum. */
export const EVENT_TYPE_TO_WIRE: Record<DomainEventType, EventType> = {
  room_created: EventType.EVENT_TYPE_ROOM_CREATED,
  room_updated: EventType.EVENT_TYPE_ROOM_UPDATED,
  room_deleted: EventType.EVENT_TYPE_ROOM_DELETED,
  peer_created: EventType.EVENT_TYPE_PEER_CREATED,
  peer_deleted: EventType.EVENT_TYPE_PEER_DELETED,
  peer_metadata_updated: EventType.EVENT_TYPE_PEER_METADATA_UPDATED,
  peer_connected: EventType.EVENT_TYPE_PEER_CONNECTED,
  peer_disconnected: EventType.EVENT_TYPE_PEER_DISCONNECTED,
  peer_token_revoked: EventType.EVENT_TYPE_PEER_TOKEN_REVOKED,
  room_purged: EventType.EVENT_TYPE_ROOM_PURGED,
  ban_created: EventType.EVENT_TYPE_BAN_CREATED,
  ban_lifted: EventType.EVENT_TYPE_BAN_LIFTED,
  ban_expired: EventType.EVENT_TYPE_BAN_EXPIRED,
  webhook_test: EventType.EVENT_TYPE_WEBHOOK_TEST,
  join_code_redeemed: EventType.EVENT_TYPE_JOIN_CODE_REDEEMED,
};

/** Wire event types → domain; UNSPECIFIED or unknown values become undefined for validation to refuse. */
export function fromEventTypes(types: EventType[]): (DomainEventType | undefined)[] {
  return types.map((w) => (Object.entries(EVENT_TYPE_TO_WIRE).find(([, v]) => v === w)?.[0] as DomainEventType | undefined));
}

const CAUSES: Record<DomainCause, RevocationCause> = {
  peer_deleted: RevocationCause.REVOCATION_CAUSE_PEER_DELETED,
  room_deleted: RevocationCause.REVOCATION_CAUSE_ROOM_DELETED,
  permissions_changed: RevocationCause.REVOCATION_CAUSE_PERMISSIONS_CHANGED,
  banned: RevocationCause.REVOCATION_CAUSE_BANNED,
};

function payloadOf(p: EventPayload): Event['payload'] {
  switch (p.type) {
    case 'room_created':
      return { $case: 'roomCreated', value: toRoom(p.room) };
    case 'room_updated':
      return { $case: 'roomUpdated', value: toRoom(p.room) };
    case 'room_deleted':
      return { $case: 'roomDeleted', value: toRoom(p.room) };
    case 'room_purged':
      return { $case: 'roomPurged', value: toRoom(p.room) };
    case 'peer_created':
      return { $case: 'peerCreated', value: toPeer(p.peer) };
    case 'peer_deleted':
      return { $case: 'peerDeleted', value: toPeer(p.peer) };
    case 'peer_metadata_updated':
      return { $case: 'peerMetadataUpdated', value: toPeer(p.peer) };
    case 'peer_connected':
      return { $case: 'peerConnected', value: toPeer(p.peer) };
    case 'peer_disconnected':
      return { $case: 'peerDisconnected', value: toPeer(p.peer) };
    case 'peer_token_revoked':
      return {
        $case: 'peerTokenRevoked',
        value: { peerId: p.peerId, identity: p.identity, cause: CAUSES[p.cause], generation: p.generation },
      };
    case 'ban_created':
      return { $case: 'banCreated', value: toBan(p.ban) };
    case 'ban_lifted':
      return { $case: 'banLifted', value: toBan(p.ban) };
    case 'ban_expired':
      return { $case: 'banExpired', value: toBan(p.ban) };
    case 'webhook_test':
      return { $case: 'webhookTest', value: { endpointId: p.endpointId } };
    case 'join_code_redeemed':
      return { $case: 'joinCodeRedeemed', value: { joinCode: toJoinCode(p.joinCode), peer: toPeer(p.peer) } };
  }
}

/**
 * Maps a committed event to the wire message (WatchEvents and webhook
 * bodies); an event of the whole environment has an empty room_id and
 * sequence 0.
 */
export function toWireEvent(e: RoomEvent): Event {
  return {
    id: e.id,
    environment: e.environment === 'production' ? Environment.ENVIRONMENT_PRODUCTION : Environment.ENVIRONMENT_SANDBOX,
    roomId: e.roomId ?? '',
    sequence: e.sequence ?? '0',
    createTime: e.createdAt,
    type: EVENT_TYPE_TO_WIRE[e.payload.type],
    cursor: e.cursor,
    payload: payloadOf(e.payload),
  };
}
