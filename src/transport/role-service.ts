import type { RoleManager } from '../domain/role-manager.js';
import type { RoleServiceServer } from '../gen/roomgate/v1/role_service.js';
import { toRole } from './role-mapper.js';
import { unary, type UnaryDeps } from './unary.js';

/** gRPC handlers of roomgate.v1.RoleService. */
export function roleService(deps: UnaryDeps, roles: RoleManager): RoleServiceServer {
  return {
    createRole: unary(deps, 'CreateRole', async (req, { principal }) => ({ role: toRole(await roles.create(principal, req)) })),
    getRole: unary(deps, 'GetRole', async (req, { principal }) => ({ role: toRole(await roles.get(principal, req.name)) })),
    listRoles: unary(deps, 'ListRoles', async (req, { principal }) => {
      const page = await roles.list(principal, req);
      return { roles: page.items.map(toRole), nextPageToken: page.nextPageToken };
    }),
    updateRole: unary(deps, 'UpdateRole', async (req, { principal }) => {
      const { role, updatedPeerCount } = await roles.update(principal, req);
      return { role: toRole(role), updatedPeerCount };
    }),
    deleteRole: unary(deps, 'DeleteRole', async (req, { principal }) => {
      await roles.delete(principal, req.name);
      return {};
    }),
  };
}
