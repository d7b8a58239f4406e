import { randomUUID } from 'node:crypto';
import type { CacheInvalidator } from './cache-invalidator.js';
import { DomainError, throwIt } from './errors.js';
import type { Limits } from './limits.js';
import type { Page, PageScope, PageTokens } from './pagination.js';
import { ensureCan } from './permissions.js';
import type { Principal } from './principal.js';
import type { RoleStore } from './ports/index.js';
import { roleName, roleNotFound, roleTerms, type RoleRecord, type RoleTermsInput } from './roles.js';
import * as v from './validation.js';

/** Input of CreateRole, as received. */
export type CreateRoleInput = RoleTermsInput & { name: string };

/** Input of UpdateRole, as received. */
export type UpdateRoleInput = RoleTermsInput & { name: string; applyToExistingPeers: boolean };

/** Role use cases: validation, authorization, the store, and the caches of the peers an UpdateRole supersedes. */
export class RoleManager {
  constructor(
    private readonly roles: RoleStore,
    private readonly limits: Limits,
    private readonly invalidate: CacheInvalidator,
    private readonly pages: PageTokens,
  ) {}

  /** Creates a role in the caller's environment. */
  async create(principal: Principal, input: CreateRoleInput): Promise<RoleRecord> {
    ensureCan(principal, 'role:manage');
    const name = roleName('name', input.name);
    const terms = roleTerms(input, this.limits);
    return this.roles.create({ ...terms, id: randomUUID(), environment: principal.environment, name }, this.limits.maxRolesPerEnvironment);
  }

  /** Returns one role of the caller's environment. */
  async get(principal: Principal, name: string): Promise<RoleRecord> {
    roleName('name', name);
    ensureCan(principal, 'role:read');
    return (await this.roles.get(principal.environment, name)) ?? throwIt(roleNotFound(name));
  }

  /** Lists the caller's environment's roles by name. */
  async list(principal: Principal, input: { pageSize: number; pageToken: string }): Promise<Page<RoleRecord>> {
    ensureCan(principal, 'role:read');
    const size = v.pageSize(input.pageSize, this.limits);
    const scope: PageScope = { environment: principal.environment, list: 'roles' };
    const rows = await this.roles.list(principal.environment, this.pages.decodeName(scope, input.pageToken), size + 1);
    return this.pages.pageByName(scope, rows, size);
  }

  /**
   * Replaces a role's terms. Nothing already issued changes unless
   * `applyToExistingPeers`: then the role's peers take the new permissions and
   * their earlier tokens are superseded, as UpdatePeer does.
   */
  async update(principal: Principal, input: UpdateRoleInput): Promise<{ role: RoleRecord; updatedPeerCount: number }> {
    ensureCan(principal, 'role:manage');
    const name = roleName('name', input.name);
    const terms = roleTerms(input, this.limits);
    let updatedPeerIds: string[] = [];
    try {
      const updated = await this.roles.update(principal.environment, name, terms, input.applyToExistingPeers);
      if (!updated) throw roleNotFound(name);
      updatedPeerIds = updated.updatedPeerIds;
      return { role: updated.role, updatedPeerCount: updatedPeerIds.length };
    } catch (err) {
      // A failure the database may still have committed superseded peers no
      // one can name: every cache is flushed (the notices reach the others).
      const ambiguous = !(err instanceof DomainError) || err.code === 'ERR_DB_UNAVAILABLE' || err.code === 'ERR_DB_TIMEOUT';
      if (input.applyToExistingPeers && ambiguous) this.invalidate.all();
      throw err;
    } finally {
      for (const peerId of updatedPeerIds) this.invalidate.peer(peerId);
    }
  }

  /** Deletes a role; FAILED_PRECONDITION while a join code that can still be redeemed names it. */
  async delete(principal: Principal, name: string): Promise<void> {
    roleName('name', name);
    ensureCan(principal, 'role:manage');
    if (!(await this.roles.delete(principal.environment, name))) throw roleNotFound(name);
  }
}
