// Revocation is immediate on the instance that served it: the managers drop
// the cache entries themselves right after the write, without waiting for
// the NOTIFY, and even when the write failed (it may have committed).
import { describe, expect, it } from 'vitest';
import type { CacheInvalidator } from '../../src/domain/cache-invalidator.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import { ManualClock } from '../../src/domain/clock.js';
import { ManagementTokenManager } from '../../src/domain/management-token-manager.js';
import { PageTokens } from '../../src/domain/pagination.js';
import { PeerManager } from '../../src/domain/peer-manager.js';
import type { PeerTokens } from '../../src/domain/peer-token.js';
import type { Principal } from '../../src/domain/principal.js';
import { RoomManager } from '../../src/domain/room-manager.js';
import type { ManagementTokenStore, PeerStore, RoomStore } from '../../src/domain/ports/index.js';

const ROOM = '00000000-0000-4000-8000-000000000001';
const PAGES = new PageTokens(Buffer.alloc(32, 7));
const PEER = '00000000-0000-4000-8000-0000000000a1';
const admin: Principal = { kind: 'management', environment: 'sandbox', tokenId: 't', scopes: ['admin'] };

function recorder() {
  const calls: string[] = [];
  const invalidate: CacheInvalidator = {
    peer: (id) => calls.push(`peer:${id}`),
    room: (id) => calls.push(`room:${id}`),
    managementToken: (id) => calls.push(`mtoken:${id}`),
    all: () => calls.push('all'),
  };
  return { calls, invalidate };
}

// Stores that record the order of events relative to invalidation.
function stores(calls: string[], fail = false) {
  const write = <T>(name: string, value: T) => async () => {
    calls.push(`write:${name}`);
    if (fail) throw new Error('connection lost after COMMIT');
    return value;
  };
  return {
    peers: { delete: write('peer', true), updatePermissions: write('perm', { id: PEER }) } as unknown as PeerStore,
    rooms: { delete: write('room', true) } as unknown as RoomStore,
    tokens: { revoke: write('mtoken', { id: PEER }) } as unknown as ManagementTokenStore,
  };
}

describe('local invalidation', () => {
  it('follows each revoking write on the serving instance', async () => {
    const { calls, invalidate } = recorder();
    const s = stores(calls);
    await new PeerManager(s.peers, {} as PeerTokens, DEFAULT_LIMITS, invalidate, PAGES).delete(admin, ROOM, PEER);
    await new PeerManager(s.peers, {} as PeerTokens, DEFAULT_LIMITS, invalidate, PAGES).updatePermissions(admin, ROOM, PEER, {
      canPublish: true,
      canSubscribe: false,
      canUpdateMetadata: false,
      canUpdateRoom: false,
      canRemoveParticipants: false,
    });
    await new RoomManager(s.rooms, DEFAULT_LIMITS, invalidate, PAGES).delete(admin, ROOM);
    await new ManagementTokenManager(s.tokens, new ManualClock(new Date()), DEFAULT_LIMITS, invalidate, PAGES).revokeIn('sandbox', PEER, 0);
    expect(calls).toEqual([
      'write:peer', `peer:${PEER}`,
      'write:perm', `peer:${PEER}`,
      'write:room', `room:${ROOM}`,
      'write:mtoken', `mtoken:${PEER}`,
    ]);
  });

  it('still invalidates when the write fails, since it may have committed', async () => {
    const { calls, invalidate } = recorder();
    const s = stores(calls, true);
    await expect(new PeerManager(s.peers, {} as PeerTokens, DEFAULT_LIMITS, invalidate, PAGES).delete(admin, ROOM, PEER)).rejects.toThrow();
    await expect(new RoomManager(s.rooms, DEFAULT_LIMITS, invalidate, PAGES).delete(admin, ROOM)).rejects.toThrow();
    expect(calls).toEqual(['write:peer', `peer:${PEER}`, 'write:room', `room:${ROOM}`]);
  });
});
