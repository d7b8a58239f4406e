import { describe, expect, it } from 'vitest';
import { PurgeScheduler } from '../../src/domain/purge-scheduler.js';
import type { PurgeStore, PurgeVictim } from '../../src/domain/ports/index.js';
import { buildDomain, createPeer, management, peerInput, type Domain } from '../support/fakes/index.js';

const KEY_TTL = 86_400;

function scheduler(d: Domain, options: { maxPerRun?: number; store?: PurgeStore } = {}) {
  const purged: PurgeVictim[] = [];
  const errors: unknown[] = [];
  // Runs are started by hand with runOnce(); start() is never called, so no timer runs.
  const s = new PurgeScheduler(options.store ?? d.purgeStore, d.invalidate, {
    intervalMs: 60_000,
    maxPerRun: options.maxPerRun,
    idempotencyKeyTtlSeconds: KEY_TTL,
    eventRetentionSeconds: 7 * 86_400,
    onPurged: (v) => purged.push(v),
    onError: (e) => errors.push(e),
  });
  return { s, purged, errors };
}

async function roomWithTimeouts(d: Domain, peerDisconnectedTimeoutSeconds: number, peerlessPurgeTimeoutSeconds = 0) {
  return d.rooms.create(management(['rooms']), {
    name: '',
    maxPeers: 0,
    metadata: '',
    requestId: '',
    peerlessPurgeTimeoutSeconds,
    peerDisconnectedTimeoutSeconds,
  });
}

const media = management(['verify']);
const verify = (d: Domain, token: string) => d.tokens.verify(media, token, '');

describe('PurgeScheduler over the in-memory stores', () => {
  it("deletes a peer disconnected for its room's timeout, not a second earlier, and its token stops verifying at once", async () => {
    const d = await buildDomain();
    const room = await roomWithTimeouts(d, 60);
    const { peer, token } = await createPeer(d, room.id, { identity: 'a' });
    await d.peers.reportStatus(media, room.id, peer.id, 'connected');
    await d.peers.reportStatus(media, room.id, peer.id, 'disconnected');
    expect(await verify(d, token)).toMatchObject({ valid: true });
    const { s, purged } = scheduler(d);
    d.clock.advance(59);
    expect(await s.runOnce()).toMatchObject({ peers: 0 });
    d.clock.advance(1);
    expect(await s.runOnce()).toMatchObject({ peers: 1 });
    expect(purged).toEqual([{ kind: 'peer', environment: 'sandbox', roomId: room.id, peerId: peer.id }]);
    expect(await verify(d, token)).toEqual({ valid: false, reason: 'REVOKED' });
  });

  it('spares a peer that reconnected within the timeout, and every peer of a room whose timeout is 0', async () => {
    const d = await buildDomain();
    const timed = await roomWithTimeouts(d, 60);
    const untimed = await roomWithTimeouts(d, 0);
    const back = (await createPeer(d, timed.id, { identity: 'back' })).peer;
    const idle = (await createPeer(d, untimed.id, { identity: 'idle' })).peer;
    await d.peers.reportStatus(media, timed.id, back.id, 'disconnected');
    await d.peers.reportStatus(media, untimed.id, idle.id, 'disconnected');
    d.clock.advance(30);
    await d.peers.reportStatus(media, timed.id, back.id, 'connected');
    d.clock.advance(86_400);
    expect(await scheduler(d).s.runOnce()).toMatchObject({ peers: 0, rooms: 0 });
    expect(d.tables.peers.size).toBe(2);
  });

  it('purges a room once no peer has been connected for its peerless timeout, counted from the last disconnect', async () => {
    const d = await buildDomain();
    const room = await roomWithTimeouts(d, 0, 300);
    const { peer, token } = await createPeer(d, room.id, { identity: 'a' });
    await d.peers.reportStatus(media, room.id, peer.id, 'connected');
    d.clock.advance(600);
    const { s, purged } = scheduler(d);
    expect(await s.runOnce()).toMatchObject({ rooms: 0 });
    await d.peers.reportStatus(media, room.id, peer.id, 'disconnected');
    d.clock.advance(299);
    expect(await s.runOnce()).toMatchObject({ rooms: 0 });
    d.clock.advance(1);
    expect(await s.runOnce()).toMatchObject({ rooms: 1 });
    expect(purged).toEqual([{ kind: 'room', environment: 'sandbox', roomId: room.id }]);
    expect(await verify(d, token)).toEqual({ valid: false, reason: 'REVOKED' });
  });

  it('deletes at most maxPerRun peers per run, oldest disconnect first, leaving the rest for the next run', async () => {
    const d = await buildDomain();
    const room = await roomWithTimeouts(d, 10);
    const [p1, p2, p3] = [
      (await createPeer(d, room.id, { identity: 'p1' })).peer,
      (await createPeer(d, room.id, { identity: 'p2' })).peer,
      (await createPeer(d, room.id, { identity: 'p3' })).peer,
    ];
    // Disconnected in an order other than creation's: p3, then p1, then p2.
    for (const peer of [p3!, p1!, p2!]) {
      await d.peers.reportStatus(media, room.id, peer.id, 'disconnected');
      d.clock.advance(1);
    }
    d.clock.advance(10);
    const { s, purged } = scheduler(d, { maxPerRun: 2 });
    expect(await s.runOnce()).toMatchObject({ peers: 2 });
    expect(purged.map((v) => (v.kind === 'peer' ? v.peerId : v.roomId))).toEqual([p3!.id, p1!.id]);
    expect(await s.runOnce()).toMatchObject({ peers: 1 });
  });

  it('forgets request_ids after idempotencyKeyTtlSeconds: a retry then acts anew instead of replaying', async () => {
    const d = await buildDomain();
    const room = await roomWithTimeouts(d, 0);
    const input = peerInput(room.id, { identity: '', requestId: 'join-1' });
    const first = await d.peers.create(management(['rooms']), input);
    const { s } = scheduler(d);
    d.clock.advance(KEY_TTL);
    expect(await s.runOnce()).toMatchObject({ idempotencyKeys: 0 });
    expect((await d.peers.create(management(['rooms']), input)).peer.id).toBe(first.peer.id);
    d.clock.advance(1);
    expect(await s.runOnce()).toMatchObject({ idempotencyKeys: 1 });
    expect((await d.peers.create(management(['rooms']), input)).peer.id).not.toBe(first.peer.id);
  });

  it('forgets every cached fact when a purge fails, since it may have committed, and reports the error', async () => {
    const d = await buildDomain();
    const failure = new Error('connection lost after COMMIT');
    const store: PurgeStore = {
      purgeDisconnectedPeer: () => Promise.reject(failure),
      purgePeerlessRoom: () => d.purgeStore.purgePeerlessRoom(),
      expireIdempotencyKeys: (age, limit) => d.purgeStore.expireIdempotencyKeys(age, limit),
      expireBans: (limit) => d.purgeStore.expireBans(limit),
      pruneEvents: (age, limit) => d.purgeStore.pruneEvents(age, limit),
    };
    await expect(scheduler(d, { store }).s.runOnce()).rejects.toBe(failure);
    expect(d.invalidate.calls).toEqual(['all']);
  });
});
