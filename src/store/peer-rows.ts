import type { Environment } from '../domain/principal.js';
import type { PeerRecord, PeerStatus } from '../domain/records.js';

/** A peers row joined with its room's environment. */
export interface PeerRow {
  id: string;
  seq: string;
  room_id: string;
  environment: Environment;
  identity: string;
  name: string;
  metadata: string;
  client_metadata: string;
  can_publish: boolean;
  can_subscribe: boolean;
  can_update_metadata: boolean;
  can_update_room: boolean;
  can_remove_participants: boolean;
  role_name: string;
  generation: number;
  status: PeerStatus;
  status_changed_at: Date;
  created_at: Date;
  updated_at: Date;
}

/** The peers columns {@link toPeer} reads, from `peers p`; add the environment as `environment`. */
export const PEER_COLUMNS = `p.id, p.seq, p.room_id, p.identity, p.name, p.metadata, p.client_metadata, p.can_publish,
  p.can_subscribe, p.can_update_metadata, p.can_update_room, p.can_remove_participants, p.role_name, p.generation, p.status,
  p.status_changed_at, p.created_at, p.updated_at`;

/** A row as the domain's record. */
export function toPeer(r: PeerRow): PeerRecord {
  return {
    id: r.id,
    seq: r.seq,
    roomId: r.room_id,
    environment: r.environment,
    identity: r.identity,
    name: r.name,
    metadata: r.metadata,
    clientMetadata: r.client_metadata,
    permissions: {
      canPublish: r.can_publish,
      canSubscribe: r.can_subscribe,
      canUpdateMetadata: r.can_update_metadata,
      canUpdateRoom: r.can_update_room,
      canRemoveParticipants: r.can_remove_participants,
    },
    role: r.role_name,
    generation: r.generation,
    status: r.status,
    statusChangedAt: r.status_changed_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
