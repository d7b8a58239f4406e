/** An isolated data partition; management tokens belong to exactly one. */
export type Environment = 'sandbox' | 'production';

/** All environments, in a stable order. */
export const ENVIRONMENTS: readonly Environment[] = ['sandbox', 'production'];

/** What a peer token lets its holder do. */
export interface PeerPermissions {
  canPublish: boolean;
  canSubscribe: boolean;
  canUpdateMetadata: boolean;
  canUpdateRoom: boolean;
  canRemoveParticipants: boolean;
}

/** No permissions at all. */
export const NO_PERMISSIONS: PeerPermissions = Object.freeze({
  canPublish: false,
  canSubscribe: false,
  canUpdateMetadata: false,
  canUpdateRoom: false,
  canRemoveParticipants: false,
});

/** A backend authenticated with a management token. */
export interface ManagementPrincipal {
  kind: 'management';
  environment: Environment;
  tokenId: string;
}

/** A client authenticated with a peer token: one peer in one room. */
export interface PeerPrincipal {
  kind: 'peer';
  environment: Environment;
  roomId: string;
  peerId: string;
  permissions: PeerPermissions;
  tokenId: string;
}

/** Whoever is calling. */
export type Principal = ManagementPrincipal | PeerPrincipal;
