import type { BanRecord } from './bans.js';
import type { JoinCodeRecord } from './join-codes.js';
import type { Environment } from './principal.js';
import type { PeerRecord, RoomRecord } from './records.js';

/** The kinds of room event; mirrors roomgate.v1.EventType. */
export type EventType =
  | 'room_created'
  | 'room_updated'
  | 'room_deleted'
  | 'peer_created'
  | 'peer_deleted'
  | 'peer_metadata_updated'
  | 'peer_connected'
  | 'peer_disconnected'
  | 'peer_token_revoked'
  | 'room_purged'
  | 'ban_created'
  | 'ban_lifted'
  | 'ban_expired'
  | 'webhook_test'
  | 'join_code_redeemed';

/** All event types, in the wire enum's order. */
export const EVENT_TYPES: readonly EventType[] = [
  'room_created',
  'room_updated',
  'room_deleted',
  'peer_created',
  'peer_deleted',
  'peer_metadata_updated',
  'peer_connected',
  'peer_disconnected',
  'peer_token_revoked',
  'room_purged',
  'ban_created',
  'ban_lifted',
  'ban_expired',
  'webhook_test',
  'join_code_redeemed',
];

/**
 * The type of SendTestWebhookEvent's events: delivered to the one endpoint
 * named, never streamed by WatchEvents, and not a type an endpoint's filter
 * or a watch may ask for (src/store/webhook-test-event.ts says how).
 */
export const WEBHOOK_TEST: EventType = 'webhook_test';

/** Why a peer's tokens stopped verifying. */
export type RevocationCause = 'peer_deleted' | 'room_deleted' | 'permissions_changed' | 'banned';

/** What an event says, by type. */
export type EventPayload =
  | { type: 'room_created' | 'room_updated' | 'room_deleted' | 'room_purged'; room: RoomRecord }
  | {
      type: 'peer_created' | 'peer_deleted' | 'peer_metadata_updated' | 'peer_connected' | 'peer_disconnected';
      peer: PeerRecord;
    }
  | { type: 'peer_token_revoked'; peerId: string; identity: string; cause: RevocationCause; generation: number }
  | { type: 'ban_created' | 'ban_lifted' | 'ban_expired'; ban: BanRecord }
  | { type: 'webhook_test'; endpointId: string }
  | { type: 'join_code_redeemed'; joinCode: JoinCodeRecord; peer: PeerRecord };

/** A committed event, as read back from the outbox. */
export interface RoomEvent {
  id: string;
  environment: Environment;
  /** The room; null for an event of the whole environment (an environment-wide ban's). */
  roomId: string | null;
  /** Position within the room: 1, 2, 3, … without gaps; null when roomId is. */
  sequence: string | null;
  createdAt: Date;
  /** Opaque stream position, for WatchEvents' after_cursor. */
  cursor: string;
  payload: EventPayload;
}

const DATE_FIELDS = ['createdAt', 'updatedAt', 'statusChangedAt', 'expiresAt', 'revokedAt'] as const;

/** Turns a payload read back from JSON into one with Date fields again. */
export function reviveEventPayload(json: unknown): EventPayload {
  const payload = json as EventPayload;
  const records = [
    'room' in payload ? payload.room : undefined,
    'peer' in payload ? payload.peer : undefined,
    'ban' in payload ? payload.ban : undefined,
    'joinCode' in payload ? payload.joinCode : undefined,
  ];
  for (const record of records) {
    if (!record) continue;
    const r = record as unknown as Record<string, unknown>;
    for (const f of DATE_FIELDS) if (typeof r[f] === 'string') r[f] = new Date(r[f] as string);
  }
  // A peer event written before roles existed has no role: it had none.
  if ('peer' in payload) payload.peer.role ??= '';
  return payload;
}
