import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PeerLivenessCache } from '../../src/domain/peer-liveness-cache.js';
import type { Environment } from '../../src/domain/principal.js';
import type { PeerLiveness, PeerLivenessSource } from '../../src/domain/ports/index.js';

/**
 * Peers in memory. Each read takes its answer when it starts and, while
 * `hold` is set, returns it only once the hold is released: a read that began
 * before a change and finishes after it.
 */
class FakePeers implements PeerLivenessSource {
  readonly rows = new Map<string, { environment: Environment; roomId: string; liveness: PeerLiveness }>();
  reads = 0;
  hold: Promise<void> | undefined;
  failure: Error | undefined;

  add(roomId: string, environment: Environment = 'sandbox'): string {
    const peerId = randomUUID();
    this.rows.set(peerId, { environment, roomId, liveness: { generation: 1, createdAt: new Date('2030-01-01T00:00:00Z') } });
    return peerId;
  }

  async liveness(environment: Environment, roomId: string, peerId: string): Promise<PeerLiveness | undefined> {
    this.reads++;
    const row = this.rows.get(peerId);
    const answer = row && row.environment === environment && row.roomId === roomId ? row.liveness : undefined;
    const failure = this.failure;
    await this.hold;
    if (failure) throw failure;
    return answer;
  }

  /** Holds every read started from now on until the returned function is called. */
  holdReads(): () => void {
    let release!: () => void;
    this.hold = new Promise((resolve) => (release = resolve));
    return () => {
      this.hold = undefined;
      release();
    };
  }
}

function setup(maxEntries = 100) {
  const source = new FakePeers();
  const state = { live: true };
  const cache = new PeerLivenessCache(source, { maxEntries, isLive: () => state.live });
  return { source, state, cache };
}

const room = randomUUID();

describe('PeerLivenessCache', () => {
  it('answers a live peer from memory after the first read', async () => {
    const { source, cache } = setup();
    const peer = source.add(room);
    const first = await cache.liveness('sandbox', room, peer);
    const second = await cache.liveness('sandbox', room, peer);
    expect(first).toEqual({ generation: 1, createdAt: new Date('2030-01-01T00:00:00Z') });
    expect(second).toEqual(first);
    expect(source.reads).toBe(1);
  });

  it('never caches a missing peer, and keys by environment and room too', async () => {
    const { source, cache } = setup();
    const peer = source.add(room);
    expect(await cache.liveness('sandbox', room, randomUUID())).toBeUndefined();
    expect(await cache.liveness('production', room, peer)).toBeUndefined();
    expect(await cache.liveness('sandbox', randomUUID(), peer)).toBeUndefined();
    expect(await cache.liveness('production', room, peer)).toBeUndefined();
    expect(source.reads).toBe(4);
    expect(await cache.liveness('sandbox', room, peer)).toBeDefined();
  });

  it('sees a deleted peer as gone after invalidatePeer, and keeps other peers', async () => {
    const { source, cache } = setup();
    const deleted = source.add(room);
    const kept = source.add(room);
    await cache.liveness('sandbox', room, deleted);
    await cache.liveness('sandbox', room, kept);
    source.rows.delete(deleted);
    cache.invalidatePeer(deleted);
    expect(await cache.liveness('sandbox', room, deleted)).toBeUndefined();
    expect(await cache.liveness('sandbox', room, kept)).toBeDefined();
    expect(source.reads).toBe(3);
  });

  it('drops every peer of a room on invalidateRoom, and only that room', async () => {
    const { source, cache } = setup();
    const other = randomUUID();
    const inRoom = [source.add(room), source.add(room), source.add(room)];
    const elsewhere = source.add(other);
    for (const peer of inRoom) await cache.liveness('sandbox', room, peer);
    await cache.liveness('sandbox', other, elsewhere);
    for (const peer of inRoom) source.rows.delete(peer);
    cache.invalidateRoom(room);
    for (const peer of inRoom) expect(await cache.liveness('sandbox', room, peer)).toBeUndefined();
    expect(await cache.liveness('sandbox', other, elsewhere)).toBeDefined();
    expect(source.reads).toBe(4 + 3);
  });

  it('does not store a read that started before an invalidation of its peer', async () => {
    const { source, cache } = setup();
    const peer = source.add(room);
    const release = source.holdReads();
    const stale = cache.liveness('sandbox', room, peer);
    source.rows.delete(peer);
    cache.invalidatePeer(peer);
    release();
    // The caller that raced the deletion may see the peer; nobody after it may.
    expect(await stale).toBeDefined();
    expect(await cache.liveness('sandbox', room, peer)).toBeUndefined();
    expect(source.reads).toBe(2);
  });

  it('does not store a read that started before an invalidation of its room', async () => {
    const { source, cache } = setup();
    const peer = source.add(room);
    const release = source.holdReads();
    const stale = cache.liveness('sandbox', room, peer);
    source.rows.delete(peer);
    cache.invalidateRoom(room);
    release();
    expect(await stale).toBeDefined();
    expect(await cache.liveness('sandbox', room, peer)).toBeUndefined();
  });

  it('does not let a caller that arrives after an invalidation share a read that started before it', async () => {
    const { source, cache } = setup();
    const peer = source.add(room);
    const release = source.holdReads();
    const before = cache.liveness('sandbox', room, peer);
    source.rows.delete(peer);
    cache.invalidatePeer(peer);
    const after = cache.liveness('sandbox', room, peer);
    release();
    expect(await before).toBeDefined();
    expect(await after).toBeUndefined();
    expect(source.reads).toBe(2);
  });

  it('still stores a read overtaken by an invalidation of another peer', async () => {
    const { source, cache } = setup();
    const peer = source.add(room);
    const release = source.holdReads();
    const read = cache.liveness('sandbox', room, peer);
    cache.invalidatePeer(randomUUID());
    cache.invalidateRoom(randomUUID());
    release();
    await read;
    await cache.liveness('sandbox', room, peer);
    expect(source.reads).toBe(1);
  });

  it('shares one read among concurrent callers of the same peer', async () => {
    const { source, cache } = setup();
    const peer = source.add(room);
    const release = source.holdReads();
    const answers = Promise.all([1, 2, 3].map(() => cache.liveness('sandbox', room, peer)));
    release();
    expect((await answers).every((a) => a?.generation === 1)).toBe(true);
    expect(source.reads).toBe(1);
  });

  it('passes a failed read to every caller that shared it, and stores nothing', async () => {
    const { source, cache } = setup();
    const peer = source.add(room);
    source.failure = new Error('database unavailable');
    const release = source.holdReads();
    const reads = [cache.liveness('sandbox', room, peer), cache.liveness('sandbox', room, peer)];
    release();
    for (const read of reads) await expect(read).rejects.toThrow('database unavailable');
    source.failure = undefined;
    expect(await cache.liveness('sandbox', room, peer)).toBeDefined();
    expect(source.reads).toBe(2);
  });

  it('flush drops every entry, and a read running during the flush does not store', async () => {
    const { source, cache } = setup();
    const cached = source.add(room);
    const running = source.add(room);
    await cache.liveness('sandbox', room, cached);
    const release = source.holdReads();
    const read = cache.liveness('sandbox', room, running);
    source.rows.clear();
    cache.flush();
    release();
    await read;
    expect(await cache.liveness('sandbox', room, cached)).toBeUndefined();
    expect(await cache.liveness('sandbox', room, running)).toBeUndefined();
    expect(source.reads).toBe(4);
  });

  it('reads through and stores nothing while invalidations are not delivered', async () => {
    const { source, state, cache } = setup();
    const peer = source.add(room);
    await cache.liveness('sandbox', room, peer);
    state.live = false;
    // The entry from before may be stale: the deletion's notice may be lost.
    source.rows.delete(peer);
    expect(await cache.liveness('sandbox', room, peer)).toBeUndefined();
    const other = source.add(room);
    await cache.liveness('sandbox', room, other);
    await cache.liveness('sandbox', room, other);
    expect(source.reads).toBe(4);
  });

  it('does not store a read that ends while invalidations are not delivered', async () => {
    const { source, state, cache } = setup();
    const peer = source.add(room);
    const release = source.holdReads();
    const read = cache.liveness('sandbox', room, peer);
    state.live = false;
    release();
    await read;
    state.live = true;
    await cache.liveness('sandbox', room, peer);
    expect(source.reads).toBe(2);
  });

  it('does not store a read that spans a disconnect and the flush of the reconnect', async () => {
    const { source, state, cache } = setup();
    const peer = source.add(room);
    const release = source.holdReads();
    const read = cache.liveness('sandbox', room, peer);
    state.live = false;
    source.rows.delete(peer);
    cache.flush();
    state.live = true;
    release();
    expect(await read).toBeDefined();
    expect(await cache.liveness('sandbox', room, peer)).toBeUndefined();
  });

  it('keeps at most maxEntries, evicting the least recently used', async () => {
    const { source, cache } = setup(2);
    const [a, b, c] = [source.add(room), source.add(room), source.add(room)];
    await cache.liveness('sandbox', room, a);
    await cache.liveness('sandbox', room, b);
    await cache.liveness('sandbox', room, a);
    await cache.liveness('sandbox', room, c);
    expect(source.reads).toBe(3);
    await cache.liveness('sandbox', room, a);
    await cache.liveness('sandbox', room, c);
    expect(source.reads).toBe(3);
    await cache.liveness('sandbox', room, b);
    expect(source.reads).toBe(4);
  });

  it('rejects a maxEntries that is not a positive integer', () => {
    const source = new FakePeers();
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      expect(() => new PeerLivenessCache(source, { maxEntries, isLive: () => true })).toThrow(RangeError);
    }
  });
});

describe('PeerLivenessCache.record (the instance that creates a peer, or issues its token)', () => {
  const LIVE: PeerLiveness = { generation: 1, createdAt: new Date('2030-01-01T00:00:00Z') };
  /** A write that finishes when the returned release is called. */
  function heldWrite() {
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    return { release, write: async () => (await done, LIVE) };
  }

  it('remembers what the write returned: the next lookup needs no read', async () => {
    const { source, cache } = setup();
    const peer = randomUUID();
    await expect(cache.record('sandbox', room, peer, async () => LIVE, (l) => l)).resolves.toBe(LIVE);
    await expect(cache.liveness('sandbox', room, peer)).resolves.toEqual(LIVE);
    expect(source.reads).toBe(0);
  });

  it('remembers nothing when the peer or its room was invalidated while the write ran', async () => {
    for (const tag of ['peer', 'room'] as const) {
      const { source, cache } = setup();
      const peer = randomUUID();
      const { release, write } = heldWrite();
      const recorded = cache.record('sandbox', room, peer, write, (l) => l);
      if (tag === 'peer') cache.invalidatePeer(peer);
      else cache.invalidateRoom(room);
      release();
      await recorded;
      await expect(cache.liveness('sandbox', room, peer)).resolves.toBeUndefined();
      expect(source.reads, tag).toBe(1);
    }
  });

  it('remembers nothing after a flush during the write, or while invalidations are not delivered', async () => {
    const { source, state, cache } = setup();
    const flushed = randomUUID();
    const { release, write } = heldWrite();
    const recorded = cache.record('sandbox', room, flushed, write, (l) => l);
    cache.flush();
    release();
    await recorded;
    const offline = randomUUID();
    state.live = false;
    await cache.record('sandbox', room, offline, async () => LIVE, (l) => l);
    state.live = true;
    await cache.liveness('sandbox', room, flushed);
    await cache.liveness('sandbox', room, offline);
    expect(source.reads).toBe(2);
  });

  it('an invalidation after the write drops what it remembered', async () => {
    const { source, cache } = setup();
    const peer = randomUUID();
    await cache.record('sandbox', room, peer, async () => LIVE, (l) => l);
    cache.invalidatePeer(peer);
    await expect(cache.liveness('sandbox', room, peer)).resolves.toBeUndefined();
    expect(source.reads).toBe(1);
  });
});
