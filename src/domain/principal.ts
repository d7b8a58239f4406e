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

/** What a management token may do; `admin` implies every other scope, `audit` only reads the audit log. */
export type Scope = 'admin' | 'rooms' | 'verify' | 'read' | 'audit';

/** All scopes, in a stable order. */
export const SCOPES: readonly Scope[] = ['admin', 'rooms', 'verify', 'read', 'audit'];

/** A backend authenticated with a management token. */
export interface ManagementPrincipal {
  kind: 'management';
  environment: Environment;
  tokenId: string;
  /** The token's name and display hint (`rg_live_…a1B2`), for the audit log. Absent only in principals built by tests. */
  tokenName?: string;
  tokenHint?: string;
  scopes: readonly Scope[];
  /**
   * When the caller's token stops working (its expiry, or a revocation in a
   * grace period, whichever is first); null if never. Tokens it creates may
   * not outlive it. Absent only in principals built by tests.
   */
  endsAt?: Date | null;
}

/** A client authenticated with a peer token: one peer in one room. */
export interface PeerPrincipal {
  kind: 'peer';
  environment: Environment;
  roomId: string;
  peerId: string;
  permissions: PeerPermissions;
  tokenId: string;
  /**
   * The peer's permissions changed after this token was issued. Such a token
   * may only be exchanged for a current one (RefreshPeerToken).
   */
  superseded: boolean;
}

/** Whoever is calling. */
export type Principal = ManagementPrincipal | PeerPrincipal;
