import { randomUUID } from 'node:crypto';
import { DomainError, throwIt } from './errors.js';
import { idempotencyKey } from './idempotency.js';
import type { Limits } from './limits.js';
import type { Page, PageTokens } from './pagination.js';
import { ensureCan } from './permissions.js';
import type { Principal } from './principal.js';
import type { RoomRecord } from './records.js';
import { thenInvalidate, type CacheInvalidator } from './cache-invalidator.js';
import type { RoomPatch, RoomStore } from './ports/index.js';
import * as v from './validation.js';

/** Input of CreateRoom, as received. */
export interface CreateRoomInput {
  name: string;
  maxPeers: number;
  metadata: string;
  requestId: string;
  peerlessPurgeTimeoutSeconds: number;
  peerDisconnectedTimeoutSeconds: number;
}

/** Input of UpdateRoom: only fields that are set change. */
export interface UpdateRoomInput {
  roomId: string;
  metadata?: string;
  maxPeers?: number;
  peerlessPurgeTimeoutSeconds?: number;
  peerDisconnectedTimeoutSeconds?: number;
}

const notFound = () => new DomainError('ERR_ROOM_NOT_FOUND', 'room not found');

/** Room use cases: validation, authorization, then the store. */
export class RoomManager {
  constructor(
    private readonly rooms: RoomStore,
    private readonly limits: Limits,
    private readonly invalidate: CacheInvalidator,
    private readonly pages: PageTokens,
  ) {}

  /** Creates a room; a repeated request_id returns the room it first created. */
  async create(principal: Principal, input: CreateRoomInput): Promise<RoomRecord> {
    ensureCan(principal, 'room:create');
    const name = v.optionalRoomName(input.name);
    const maxPeers = v.maxPeers(input.maxPeers);
    const metadata = v.jsonText('metadata', input.metadata, this.limits);
    const peerlessPurgeTimeoutSeconds = v.timeout('peerless_purge_timeout_seconds', input.peerlessPurgeTimeoutSeconds);
    const peerDisconnectedTimeoutSeconds = v.timeout('peer_disconnected_timeout_seconds', input.peerDisconnectedTimeoutSeconds);
    const key = idempotencyKey(v.requestId(input.requestId), {
      name,
      maxPeers,
      metadata,
      peerlessPurgeTimeoutSeconds,
      peerDisconnectedTimeoutSeconds,
    });
    const { room } = await this.rooms.create(
      {
        id: randomUUID(),
        environment: principal.environment,
        name,
        maxPeers,
        metadata,
        peerlessPurgeTimeoutSeconds,
        peerDisconnectedTimeoutSeconds,
      },
      key,
      this.limits.maxRoomsPerEnvironment,
    );
    return room;
  }

  /** Returns one room of the caller's environment. */
  async get(principal: Principal, roomId: string): Promise<RoomRecord> {
    v.requireId('room_id', roomId);
    ensureCan(principal, 'room:read', { roomId });
    return (await this.rooms.get(principal.environment, roomId)) ?? throwIt(notFound());
  }

  /** Lists rooms oldest first; with a name filter, those whose name contains it, ignoring case. */
  async list(principal: Principal, pageSize: number, pageToken: string, nameFilter = ''): Promise<Page<RoomRecord>> {
    ensureCan(principal, 'room:list');
    const size = v.pageSize(pageSize, this.limits);
    const filter = v.nameFilter(nameFilter);
    // The page token is bound to the exact filter: a position in one filtered
    // list means nothing in another. No filter keeps the context of before.
    const scope = { environment: principal.environment, list: 'rooms', within: filter } as const;
    const after = this.pages.decode(scope, pageToken);
    return this.pages.page(scope, await this.rooms.list(principal.environment, after, size + 1, filter), size);
  }

  /** Changes metadata and/or max_peers. */
  async update(principal: Principal, input: UpdateRoomInput): Promise<RoomRecord> {
    const roomId = v.requireId('room_id', input.roomId);
    const limits = [input.maxPeers, input.peerlessPurgeTimeoutSeconds, input.peerDisconnectedTimeoutSeconds];
    if (input.metadata === undefined && limits.every((l) => l === undefined)) {
      throw new DomainError('ERR_INVALID_ARGUMENT', 'nothing to update: set metadata, max_peers or a timeout');
    }
    if (input.metadata !== undefined) ensureCan(principal, 'room:update-metadata', { roomId });
    if (limits.some((l) => l !== undefined)) ensureCan(principal, 'room:update-limits', { roomId });
    const patch: RoomPatch = {
      ...(input.metadata !== undefined && { metadata: v.jsonText('metadata', input.metadata, this.limits) }),
      ...(input.maxPeers !== undefined && { maxPeers: v.maxPeers(input.maxPeers) }),
      ...(input.peerlessPurgeTimeoutSeconds !== undefined && {
        peerlessPurgeTimeoutSeconds: v.timeout('peerless_purge_timeout_seconds', input.peerlessPurgeTimeoutSeconds),
      }),
      ...(input.peerDisconnectedTimeoutSeconds !== undefined && {
        peerDisconnectedTimeoutSeconds: v.timeout('peer_disconnected_timeout_seconds', input.peerDisconnectedTimeoutSeconds),
      }),
    };
    return (await this.rooms.update(principal.environment, roomId, patch)) ?? throwIt(notFound());
  }

  /** Deletes a room with its peers; their tokens stop verifying because the peers are gone. */
  async delete(principal: Principal, roomId: string): Promise<void> {
    v.requireId('room_id', roomId);
    ensureCan(principal, 'room:delete', { roomId });
    const deleted = await thenInvalidate(this.rooms.delete(principal.environment, roomId), () => this.invalidate.room(roomId));
    if (!deleted) throw notFound();
  }
}
