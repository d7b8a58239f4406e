import { DomainError, invalidArgument } from './errors.js';
import type { Limits } from './limits.js';
import { NO_PERMISSIONS, type Environment, type PeerPermissions } from './principal.js';
import * as v from './validation.js';

/** A role as stored: a named permission preset of one environment. */
export interface RoleRecord {
  /** Internal id; the API names roles by {@link name}, which never changes. */
  id: string;
  environment: Environment;
  name: string;
  permissions: PeerPermissions;
  /** Default peer token lifetime, in seconds. */
  tokenTtlSeconds: number;
  /** Default backend metadata of the role's peers (JSON text). */
  metadata: string;
  description: string;
  createdAt: Date;
  updatedAt: Date;
}

/** What CreateRole and UpdateRole set, once validated. */
export interface RoleTerms {
  permissions: PeerPermissions;
  tokenTtlSeconds: number;
  metadata: string;
  description: string;
}

/** The request fields of CreateRole and UpdateRole, as received. */
export interface RoleTermsInput {
  permissions: PeerPermissions | undefined;
  tokenTtlSeconds: number;
  metadata: string;
  description: string;
}

/** Longest role description, in characters. */
export const MAX_ROLE_DESCRIPTION_LENGTH = 512;

const ROLE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Validates a role name (Role.name): 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit. */
export function roleName(field: string, value: string): string {
  if (value === '') throw invalidArgument(field, 'is required');
  if (!ROLE_NAME.test(value)) {
    throw invalidArgument(field, "must be 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit");
  }
  return value;
}

/** Validates a role's permissions, lifetime, metadata and description; unset permissions grant none. */
export function roleTerms(input: RoleTermsInput, limits: Limits): RoleTerms {
  return {
    permissions: { ...NO_PERMISSIONS, ...input.permissions },
    tokenTtlSeconds: v.tokenTtl(input.tokenTtlSeconds, limits),
    // The same rule and size limit as a peer's metadata, which it becomes.
    metadata: v.jsonText('metadata', input.metadata, limits),
    // The character rules of identities and names, with the description's own length.
    description: v.text('description', input.description, { ...limits, maxIdentityLength: MAX_ROLE_DESCRIPTION_LENGTH }),
  };
}

/** Whether two permission sets grant the same. */
export function samePermissions(a: PeerPermissions, b: PeerPermissions): boolean {
  return (
    a.canPublish === b.canPublish &&
    a.canSubscribe === b.canSubscribe &&
    a.canUpdateMetadata === b.canUpdateMetadata &&
    a.canUpdateRoom === b.canUpdateRoom &&
    a.canRemoveParticipants === b.canRemoveParticipants
  );
}

/** ERR_ROLE_NOT_FOUND, naming the role asked for. */
export function roleNotFound(name: string): DomainError {
  return new DomainError('ERR_ROLE_NOT_FOUND', `role "${name}" not found in this environment; create it with CreateRole`, {
    metadata: { role: name },
  });
}

/** ERR_ROLE_EXISTS. */
export function roleExists(name: string): DomainError {
  return new DomainError('ERR_ROLE_EXISTS', `a role named "${name}" already exists; change it with UpdateRole`, {
    metadata: { role: name },
  });
}

/** ERR_ROLE_QUOTA_EXCEEDED. */
export function roleQuotaExceeded(limit: number): DomainError {
  return new DomainError(
    'ERR_ROLE_QUOTA_EXCEEDED',
    `the environment already has ${limit} roles, its limit (ROOMGATE_MAX_ROLES_PER_ENVIRONMENT); delete roles first`,
  );
}

/** ERR_ROLE_IN_USE: DeleteRole of a role that `codes` join codes that can still be redeemed name. */
export function roleInUse(name: string, codes: number): DomainError {
  const them = codes === 1 ? '1 join code that can still be redeemed uses it' : `${codes} join codes that can still be redeemed use it`;
  return new DomainError(
    'ERR_ROLE_IN_USE',
    `role "${name}" cannot be deleted: ${them}; revoke them with RevokeJoinCode (ListJoinCodes shows them) or wait until they expire or are used up`,
    { metadata: { role: name, joinCodeCount: String(codes) } },
  );
}
