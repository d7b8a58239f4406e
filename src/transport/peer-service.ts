import type { PeerManager } from '../domain/peer-manager.js';
import type { PeerServiceServer } from '../gen/roomgate/v1/peer_service.js';
import { PeerStatus } from '../gen/roomgate/v1/resources.js';
import { toBan } from './ban-mapper.js';
import { toPeer } from './mappers.js';
import { unary, type UnaryDeps } from './unary.js';

/** gRPC handlers of roomgate.v1.PeerService. */
export function peerService(deps: UnaryDeps, peers: PeerManager): PeerServiceServer {
  return {
    createPeer: unary(deps, 'CreatePeer', async (req, { principal }) => {
      const created = await peers.create(principal, req);
      deps.metrics?.tokensIssued.inc({ method: 'CreatePeer' });
      return { peer: toPeer(created.peer), peerToken: created.token, tokenExpireTime: created.expiresAt };
    }),
    getPeer: unary(deps, 'GetPeer', async (req, { principal }) => ({
      peer: toPeer(await peers.get(principal, req.roomId, req.peerId)),
    })),
    listPeers: unary(deps, 'ListPeers', async (req, { principal }) => {
      const page = await peers.list(principal, req.roomId, req.pageSize, req.pageToken);
      return { peers: page.items.map(toPeer), nextPageToken: page.nextPageToken };
    }),
    deletePeer: unary(deps, 'DeletePeer', async (req, { principal }) => {
      const ban = await peers.delete(principal, req.roomId, req.peerId, req.ban);
      return { ban: ban && toBan(ban) };
    }),
    updatePeerMetadata: unary(deps, 'UpdatePeerMetadata', async (req, { principal }) => ({
      peer: toPeer(await peers.updateClientMetadata(principal, req.roomId, req.peerId, req.clientMetadata)),
    })),
    reportPeerStatus: unary(deps, 'ReportPeerStatus', async (req, { principal }) => {
      const status =
        req.status === PeerStatus.PEER_STATUS_CONNECTED ? 'connected' : req.status === PeerStatus.PEER_STATUS_DISCONNECTED ? 'disconnected' : '';
      return { peer: toPeer(await peers.reportStatus(principal, req.roomId, req.peerId, status)) };
    }),
    updatePeer: unary(deps, 'UpdatePeer', async (req, { principal }) => ({
      peer: toPeer(await peers.updatePermissions(principal, req.roomId, req.peerId, req.permissions)),
    })),
  };
}
