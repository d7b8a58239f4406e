import { DomainError } from './errors.js';
import type { Principal } from './principal.js';

/** Everything a caller can ask to do, checked by {@link ensureCan}. */
export type Action =
  | 'room:create'
  | 'room:read'
  | 'room:list'
  | 'room:update-metadata'
  | 'room:update-limits'
  | 'room:delete'
  | 'peer:create'
  | 'peer:read'
  | 'peer:list'
  | 'peer:delete'
  | 'peer:update-client-metadata'
  | 'token:verify'
  | 'token:refresh';

/** The resource an action is aimed at. */
export interface Target {
  roomId?: string;
  peerId?: string;
}

const denied = (message: string) => new DomainError('ERR_PERMISSION_DENIED', message);

/**
 * Throws PERMISSION_DENIED unless `principal` may perform `action` on `target`.
 * Environment isolation for management principals is not checked here: stores
 * filter by environment, so another environment's resources are simply
 * NOT_FOUND, which reveals nothing about them.
 */
export function ensureCan(principal: Principal, action: Action, target: Target = {}): void {
  if (principal.kind === 'management') {
    if (action === 'token:refresh') {
      throw denied('RefreshPeerToken is called with the peer token being refreshed; backends mint tokens with CreatePeer');
    }
    return;
  }
  const ownRoom = target.roomId === principal.roomId;
  const p = principal.permissions;
  switch (action) {
    case 'token:refresh':
      return;
    case 'room:read':
    case 'peer:read':
    case 'peer:list':
      if (!ownRoom) throw denied('a peer token gives access to its own room only');
      return;
    case 'room:update-metadata':
      if (!ownRoom) throw denied('a peer token gives access to its own room only');
      if (!p.canUpdateRoom) throw denied('updating the room needs the can_update_room permission');
      return;
    case 'peer:update-client-metadata':
      if (!ownRoom || target.peerId !== principal.peerId) {
        throw denied('a peer token may update only its own peer metadata');
      }
      if (!p.canUpdateMetadata) throw denied('updating metadata needs the can_update_metadata permission');
      return;
    case 'peer:delete':
      if (!ownRoom) throw denied('a peer token gives access to its own room only');
      if (!p.canRemoveParticipants) throw denied('removing peers needs the can_remove_participants permission');
      return;
    case 'room:update-limits':
      throw denied('only a management token may change max_peers');
    case 'room:create':
    case 'room:list':
    case 'room:delete':
    case 'peer:create':
    case 'token:verify':
      throw denied(`a peer token may not perform ${action}; it needs a management token`);
  }
}
