import type { Environment } from '../principal.js';
import type { RoleRecord, RoleTerms } from '../roles.js';

/** A role to make: its terms, name and environment, under a new id. */
export type NewRole = RoleTerms & { id: string; environment: Environment; name: string };

/** What UpdateRole did. */
export interface RoleUpdate {
  role: RoleRecord;
  /** The peers that took the new permissions (apply_to_existing_peers); their earlier tokens are superseded. */
  updatedPeerIds: string[];
}

/** Finds a role by name; what CreatePeer and IssuePeerToken need of roles. */
export interface RoleLookup {
  get(environment: Environment, name: string): Promise<RoleRecord | undefined>;
}

/** A {@link RoleLookup} that finds no role, for a PeerManager built without roles (unit tests). */
export const NO_ROLES: RoleLookup = { get: async () => undefined };

/**
 * Roles of all environments. Writes to one role are serialized with each
 * other and with every write that gives a peer the role (CreatePeer and
 * IssuePeerToken with a role), so that apply_to_existing_peers never misses a
 * peer being made with the old permissions.
 */
export interface RoleStore extends RoleLookup {
  /**
   * Inserts a role; ERR_ROLE_EXISTS when the environment has one of that
   * name, ERR_ROLE_QUOTA_EXCEEDED when it has `maxRoles` (counted under a lock,
   * so concurrent creates cannot pass it).
   */
  create(role: NewRole, maxRoles: number): Promise<RoleRecord>;
  /** Roles by name, after `afterName` when set. */
  list(environment: Environment, afterName: string | undefined, limit: number): Promise<RoleRecord[]>;
  /**
   * Replaces the role's terms; with `applyToPeers`, in the same transaction,
   * every peer with the role whose permissions differ takes the new ones, as
   * PeerStore.updatePermissions does (generation bump, peer_token_revoked,
   * revocation notice). Undefined when there is no such role.
   */
  update(environment: Environment, name: string, terms: RoleTerms, applyToPeers: boolean): Promise<RoleUpdate | undefined>;
  /**
   * Deletes the role: its peers keep their permissions and its name.
   * ERR_ROLE_IN_USE while a join code that can still be redeemed names it;
   * false when there is no such role.
   */
  delete(environment: Environment, name: string): Promise<boolean>;
}
