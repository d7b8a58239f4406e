import { DomainError } from './errors.js';
import type { Principal, Scope } from './principal.js';

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
  | 'peer:update-permissions'
  | 'peer:issue-token'
  | 'token:verify'
  | 'token:refresh'
  | 'management-token:manage'
  | 'management-token:read-own'
  | 'signing-key:manage'
  | 'peer:report-status'
  | 'webhook:manage'
  | 'event:watch'
  | 'event:watch-all'
  | 'ban:manage'
  | 'ban:read'
  | 'audit:read'
  | 'role:manage'
  | 'role:read'
  | 'join-code:manage'
  | 'join-code:read'
  | 'join-settings:manage'
  | 'join-settings:read';

// The scopes that allow each action to a management token, besides `admin`,
// which allows everything. An empty list means admin only.
const SCOPES_FOR: Record<Action, readonly Scope[]> = {
  'room:create': ['rooms'],
  'room:read': ['rooms', 'read'],
  'room:list': ['rooms', 'read'],
  'room:update-metadata': ['rooms'],
  'room:update-limits': ['rooms'],
  'room:delete': ['rooms'],
  'peer:create': ['rooms'],
  'peer:read': ['rooms', 'read'],
  'peer:list': ['rooms', 'read'],
  'peer:delete': ['rooms'],
  'peer:update-client-metadata': ['rooms'],
  'peer:update-permissions': ['rooms'],
  'peer:issue-token': ['rooms'],
  'token:verify': ['verify'],
  'token:refresh': [],
  'management-token:manage': [],
  // Any management token, whatever its scopes: see ensureCan.
  'management-token:read-own': ['rooms', 'read', 'verify'],
  'signing-key:manage': [],
  'peer:report-status': ['verify', 'rooms'],
  'webhook:manage': ['rooms'],
  // verify watches only the revocation types (see EventStream), which offline verifiers keep.
  'event:watch': ['rooms', 'read', 'verify'],
  'event:watch-all': ['rooms', 'read'],
  'ban:manage': ['rooms'],
  'ban:read': ['rooms', 'read'],
  // The audit log names tokens and peers of the whole environment: not for `read`.
  'audit:read': ['audit'],
  'role:manage': ['rooms'],
  'role:read': ['rooms', 'read'],
  'join-code:manage': ['rooms'],
  'join-code:read': ['rooms', 'read'],
  // Where the join page may send peer tokens: admin only, as for webhook-like redirect targets.
  'join-settings:manage': [],
  'join-settings:read': ['rooms', 'read'],
};

/** The resource an action is aimed at. */
export interface Target {
  roomId?: string;
  peerId?: string;
}

// The metadata repeats what the message says for programs: the action, and
// the scope or peer permission that would allow it.
const denied = (message: string, action: Action, metadata: Record<string, string> = {}) =>
  new DomainError('ERR_PERMISSION_DENIED', message, { metadata: { action, ...metadata } });

const OWN_ROOM_ONLY = 'a peer token gives access to its own room only';

const lacks = (doing: string, permission: string, action: Action) =>
  denied(`${doing} needs the ${permission} permission`, action, { requiredPermission: permission });

/** Whether `principal` may perform `action` on `target`: {@link ensureCan} without the error. */
export function can(principal: Principal, action: Action, target: Target = {}): boolean {
  try {
    ensureCan(principal, action, target);
    return true;
  } catch (err) {
    if (err instanceof DomainError && (err.code === 'ERR_PERMISSION_DENIED' || err.code === 'ERR_UNAUTHENTICATED')) return false;
    throw err;
  }
}

/**
 * Throws PERMISSION_DENIED unless `principal` may perform `action` on `target`.
 * Environment isolation for management principals is not checked here: stores
 * filter by environment, so another environment's resources are simply
 * NOT_FOUND, which reveals nothing about them.
 */
export function ensureCan(principal: Principal, action: Action, target: Target = {}): void {
  if (principal.kind === 'management') {
    if (action === 'token:refresh') {
      throw denied('RefreshPeerToken is called with the peer token being refreshed; backends use IssuePeerToken', action, {
        requiredPrincipal: 'peer',
      });
    }
    // Reading itself tells a token nothing it does not hold, so no scope is
    // needed, including scopes added later.
    if (action === 'management-token:read-own') return;
    const allowed = SCOPES_FOR[action];
    if (principal.scopes.includes('admin') || allowed.some((s) => principal.scopes.includes(s))) return;
    const needed = allowed[0] ?? 'admin';
    const allowing = [...allowed, 'admin'];
    throw denied(`this management token lacks the '${needed}' scope (${allowing.join(' or ')} allows ${action})`, action, {
      requiredScope: needed,
      allowedScopes: allowing.join(','),
    });
  }
  if (principal.superseded && action !== 'token:refresh') {
    // Not PERMISSION_DENIED: the client can act on this by refreshing.
    throw new DomainError('ERR_UNAUTHENTICATED', 'peer token superseded by a permission change; call RefreshPeerToken');
  }
  const ownRoom = target.roomId === principal.roomId;
  const p = principal.permissions;
  switch (action) {
    case 'token:refresh':
      return;
    case 'room:read':
    case 'peer:read':
    case 'peer:list':
      if (!ownRoom) throw denied(OWN_ROOM_ONLY, action);
      return;
    case 'room:update-metadata':
      if (!ownRoom) throw denied(OWN_ROOM_ONLY, action);
      if (!p.canUpdateRoom) throw lacks('updating the room', 'can_update_room', action);
      return;
    case 'peer:update-client-metadata':
      if (!ownRoom || target.peerId !== principal.peerId) {
        throw denied('a peer token may update only its own peer metadata', action);
      }
      if (!p.canUpdateMetadata) throw lacks('updating metadata', 'can_update_metadata', action);
      return;
    case 'peer:delete':
      if (!ownRoom) throw denied(OWN_ROOM_ONLY, action);
      if (!p.canRemoveParticipants) throw lacks('removing peers', 'can_remove_participants', action);
      return;
    case 'room:update-limits':
      throw denied('only a management token may change max_peers or the room timeouts', action, { requiredPrincipal: 'management' });
    case 'peer:update-permissions':
    case 'peer:issue-token':
    case 'management-token:manage':
    case 'management-token:read-own':
    case 'signing-key:manage':
    case 'peer:report-status':
    case 'webhook:manage':
    case 'event:watch':
    case 'event:watch-all':
    case 'ban:manage':
    case 'ban:read':
    case 'audit:read':
    case 'role:manage':
    case 'role:read':
    case 'join-code:manage':
    case 'join-code:read':
    case 'join-settings:manage':
    case 'join-settings:read':
    case 'room:create':
    case 'room:list':
    case 'room:delete':
    case 'peer:create':
    case 'token:verify':
      throw denied(`a peer token may not perform ${action}; it needs a management token`, action, { requiredPrincipal: 'management' });
  }
}
