import type { RoomManager } from '../domain/room-manager.js';
import type { RoomServiceServer } from '../gen/roomgate/v1/room_service.js';
import { toRoom } from './mappers.js';
import { unary, type UnaryDeps } from './unary.js';

/** gRPC handlers of roomgate.v1.RoomService. */
export function roomService(deps: UnaryDeps, rooms: RoomManager): RoomServiceServer {
  return {
    createRoom: unary(deps, 'CreateRoom', async (req, { principal }) => ({
      room: toRoom(await rooms.create(principal, req)),
    })),
    getRoom: unary(deps, 'GetRoom', async (req, { principal }) => ({
      room: toRoom(await rooms.get(principal, req.roomId)),
    })),
    listRooms: unary(deps, 'ListRooms', async (req, { principal }) => {
      const page = await rooms.list(principal, req.pageSize, req.pageToken, req.nameFilter);
      return { rooms: page.items.map(toRoom), nextPageToken: page.nextPageToken };
    }),
    updateRoom: unary(deps, 'UpdateRoom', async (req, { principal }) => ({
      room: toRoom(await rooms.update(principal, req)),
    })),
    deleteRoom: unary(deps, 'DeleteRoom', async (req, { principal }) => {
      await rooms.delete(principal, req.roomId);
      return {};
    }),
  };
}
