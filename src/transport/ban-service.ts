import type { BanManager } from '../domain/ban-manager.js';
import type { BanServiceServer } from '../gen/roomgate/v1/ban_service.js';
import { toBan } from './ban-mapper.js';
import { unary, type UnaryDeps } from './unary.js';

/** gRPC handlers of roomgate.v1.BanService. */
export function banService(deps: UnaryDeps, bans: BanManager): BanServiceServer {
  return {
    createBan: unary(deps, 'CreateBan', async (req, { principal }) => {
      const { ban, deletedPeerCount } = await bans.create(principal, req);
      return { ban: toBan(ban), deletedPeerCount };
    }),
    getBan: unary(deps, 'GetBan', async (req, { principal }) => ({ ban: toBan(await bans.get(principal, req.banId)) })),
    listBans: unary(deps, 'ListBans', async (req, { principal }) => {
      const page = await bans.list(principal, req);
      return { bans: page.items.map(toBan), nextPageToken: page.nextPageToken };
    }),
    deleteBan: unary(deps, 'DeleteBan', async (req, { principal }) => {
      await bans.lift(principal, req.banId);
      return {};
    }),
  };
}
