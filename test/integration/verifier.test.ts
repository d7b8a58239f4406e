// @roomgate/client/verifier used as a media server uses it, against a real
// roomgate over gRPC and Postgres: keys from the HTTP listener's JWKS URL, the
// revocation feed over WatchEvents with a token of scope verify, through a
// TCP proxy the test can cut or point at another instance. Revocations are
// made with the RPCs a backend calls, on the owner instance `t`; feeds read
// from instances on the same database (startTestRoomgate's `sharing`).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerTokenVerifier, type RevocationChange, type VerifierOptions, type VerifyResult } from '../../src/client/verifier/index.js';
import { cuttableProxy, type CuttableProxy } from '../support/cuttable-proxy.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let admin: string;
let verifyToken: string;
const as = (token: string) => ({ token });
const NO_PERMISSIONS = { canPublish: false, canSubscribe: true, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false };

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken('sandbox');
  verifyToken = await t.managementToken('sandbox', ['verify']);
});
afterAll(() => t?.close());

async function verifier(address: string, options: Partial<VerifierOptions> = {}): Promise<PeerTokenVerifier> {
  return PeerTokenVerifier.create({
    jwksUrl: `${t.httpUrl}/.well-known/jwks.json`,
    issuer: t.config.issuer,
    environment: 'sandbox',
    ...options,
    feed: { address, token: verifyToken, heartbeatIntervalSeconds: 1, ...options.feed },
  });
}

/** A room with a peer, and the peer's token. */
async function peerInRoom(identity = `id-${randomUUID().slice(0, 8)}`) {
  const { room } = await t.client.rooms.createRoom({}, as(admin));
  const created = await t.client.peers.createPeer({ roomId: room!.id, identity }, as(admin));
  return { roomId: room!.id, peerId: created.peer!.id, identity, token: created.peerToken };
}

/** Verifies `token` until it is refused or `timeoutMs` passes; the refusal and how long it took from the call. */
async function untilRefused(v: PeerTokenVerifier, token: string, timeoutMs = 5_000): Promise<{ result: VerifyResult; ms: number }> {
  const started = performance.now();
  for (;;) {
    const result = await v.verify(token);
    const ms = performance.now() - started;
    if (!result.valid || ms > timeoutMs) return { result, ms };
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * When the events up to the database's newest became readable to
 * WatchEvents (ms after the call): reads stop below the oldest transaction
 * running anywhere in the Postgres cluster, and on a shared test cluster
 * another suite's DROP DATABASE can hold that back for seconds.
 */
async function readableAfter(startedAt: number): Promise<number> {
  const { rows } = await t.db.pool.query<{ txid: string }>('SELECT max(txid)::text AS txid FROM events');
  for (;;) {
    const { rows: held } = await t.db.pool.query<{ readable: boolean }>(
      'SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 AS readable',
      [rows[0]!.txid],
    );
    if (held[0]!.readable) return performance.now() - startedAt;
    await sleep(5);
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

describe('the offline verifier with its feed', () => {
  let feedServer: TestRoomgate;
  let v: PeerTokenVerifier;

  beforeAll(async () => {
    feedServer = await startTestRoomgate({}, { sharing: t });
    v = await verifier(feedServer.address);
  });
  afterAll(async () => {
    await v?.close();
    await feedServer?.close();
  });

  it('accepts a live token with its claims, and refuses another room and a garbage token as VerifyPeerToken does', async () => {
    const p = await peerInRoom();
    const result = await v.verify(p.token, { roomId: p.roomId });
    expect(result).toMatchObject({ valid: true, stale: false, claims: { roomId: p.roomId, peerId: p.peerId, identity: p.identity, generation: 1 } });
    const online = await t.client.tokens.verifyPeerToken({ token: p.token, roomId: p.roomId }, as(verifyToken));
    expect(online.valid).toBe(true);
    expect(result.claims!.tokenId).toBe(online.claims!.tokenId);
    expect(await v.verify(p.token, { roomId: randomUUID() })).toMatchObject({ valid: false, reason: 'WRONG_ROOM' });
    expect(await v.verify('not.a.token')).toMatchObject({ valid: false, reason: 'MALFORMED' });
  });

  it('refuses within 1 s of a peer deleted, a room deleted, permissions changed, or a ban (p50 and p99 printed)', async () => {
    const changes: RevocationChange[] = [];
    const off = v.onRevocation((c) => changes.push(c));
    const kinds: Record<string, { reason: 'REVOKED' | 'SUPERSEDED'; revoke: (p: Awaited<ReturnType<typeof peerInRoom>>) => Promise<unknown> }> = {
      'peer deleted': { reason: 'REVOKED', revoke: (p) => t.client.peers.deletePeer({ roomId: p.roomId, peerId: p.peerId }, as(admin)) },
      'room deleted': { reason: 'REVOKED', revoke: (p) => t.client.rooms.deleteRoom({ roomId: p.roomId }, as(admin)) },
      'permissions changed': {
        reason: 'SUPERSEDED',
        revoke: (p) => t.client.peers.updatePeer({ roomId: p.roomId, peerId: p.peerId, permissions: NO_PERMISSIONS }, as(admin)),
      },
      'room ban': { reason: 'REVOKED', revoke: (p) => t.client.bans.createBan({ identity: p.identity, roomId: p.roomId, reason: 'test' }, as(admin)) },
      'environment-wide ban': { reason: 'REVOKED', revoke: (p) => t.client.bans.createBan({ identity: p.identity, reason: 'test' }, as(admin)) },
      'DeletePeer with a ban': {
        reason: 'REVOKED',
        revoke: (p) => t.client.peers.deletePeer({ roomId: p.roomId, peerId: p.peerId, ban: { environmentWide: false, durationSeconds: 600, reason: 'test' } }, as(admin)),
      },
    };
    const TRIALS = 25;
    const all: number[] = [];
    const held: string[] = [];
    const lines: string[] = [];
    for (const [kind, { reason, revoke }] of Object.entries(kinds)) {
      const latencies: number[] = [];
      for (let i = 0; i < TRIALS; i++) {
        const p = await peerInRoom();
        expect((await v.verify(p.token)).valid, kind).toBe(true);
        await revoke(p);
        const returned = performance.now();
        const [{ result, ms }, heldMs] = await Promise.all([untilRefused(v, p.token), readableAfter(returned)]);
        expect(result, `${kind}, trial ${i}`).toMatchObject({ valid: false, reason, stale: false });
        latencies.push(ms);
        // The bound is roomgate's and the verifier's: time the cluster held the event unreadable is not theirs.
        if (heldMs > 50) held.push(`${kind} #${i}: refused after ${ms.toFixed(0)} ms, unreadable for ${heldMs.toFixed(0)} ms`);
        expect(ms - heldMs, `${kind}, trial ${i}: ${ms.toFixed(0)} ms, of which ${heldMs.toFixed(0)} ms unreadable`).toBeLessThan(1_000);
      }
      latencies.sort((a, b) => a - b);
      all.push(...latencies);
      lines.push(`${kind.padEnd(22)} n=${TRIALS} p50=${percentile(latencies, 50).toFixed(1)} ms p99=${percentile(latencies, 99).toFixed(1)} ms max=${latencies.at(-1)!.toFixed(1)} ms`);
    }
    all.sort((a, b) => a - b);
    lines.push(`${'all'.padEnd(22)} n=${all.length} p50=${percentile(all, 50).toFixed(1)} ms p99=${percentile(all, 99).toFixed(1)} ms max=${all.at(-1)!.toFixed(1)} ms`);
    if (held.length > 0) lines.push(`held back by an older transaction elsewhere in the cluster:\n  ${held.join('\n  ')}`);
    console.log(`revocation RPC return -> offline refusal:\n${lines.join('\n')}`);
    off();
    expect(new Set(changes.map((c) => c.type))).toEqual(new Set(['peer-revoked', 'room-deleted', 'peer-superseded', 'ban-created']));
  }, 120_000);

  it('lets a token verify again once its room ban is lifted, unless its peer was deleted', async () => {
    const p = await peerInRoom();
    // The ban deletes the peer: its token stays refused after the lift.
    const { ban } = await t.client.bans.createBan({ identity: p.identity, roomId: p.roomId, reason: 'lift' }, as(admin));
    expect((await untilRefused(v, p.token)).result).toMatchObject({ reason: 'REVOKED' });
    const held = v.stats().revocations.bans;
    const lifted = new Promise<RevocationChange>((resolve) => {
      const off = v.onRevocation((c) => c.type === 'ban-ended' && (off(), resolve(c)));
    });
    await t.client.bans.deleteBan({ banId: ban!.id }, as(admin));
    expect(await lifted).toMatchObject({ type: 'ban-ended', banId: ban!.id, identity: p.identity, roomId: p.roomId });
    expect(v.stats().revocations.bans).toBe(held - 1);
    expect(await v.verify(p.token)).toMatchObject({ valid: false, reason: 'REVOKED' });
  });

  it('reports its freshness from heartbeats', async () => {
    await sleep(1_500);
    const f = v.freshness();
    expect(f.connected).toBe(true);
    expect(f.stale).toBe(false);
    expect(f.lastEventAgeMs!).toBeLessThan(2_000);
  });
});

describe('the feed through outages', () => {
  let proxy: CuttableProxy;

  beforeAll(async () => {
    proxy = await cuttableProxy(t.roomgate.port);
  });
  afterAll(() => proxy?.close());

  it('resumes from its cursor after the connection is cut and applies what was revoked meanwhile', async () => {
    const v = await verifier(proxy.address);
    try {
      const peers = await Promise.all([peerInRoom(), peerInRoom(), peerInRoom(), peerInRoom()]);
      for (const p of peers) expect((await v.verify(p.token)).valid).toBe(true);
      proxy.cut();
      const deadline = Date.now() + 5_000;
      while (v.freshness().connected && Date.now() < deadline) await sleep(20);
      expect(v.freshness()).toMatchObject({ connected: false, stale: true });
      const [deleted, roomGone, changed, banned] = peers as [typeof peers[0], typeof peers[0], typeof peers[0], typeof peers[0]];
      await t.client.peers.deletePeer({ roomId: deleted.roomId, peerId: deleted.peerId }, as(admin));
      await t.client.rooms.deleteRoom({ roomId: roomGone.roomId }, as(admin));
      await t.client.peers.updatePeer({ roomId: changed.roomId, peerId: changed.peerId, permissions: NO_PERMISSIONS }, as(admin));
      await t.client.bans.createBan({ identity: banned.identity, reason: 'outage' }, as(admin));
      // Offline, and within the fail-closed bound: still accepted, but marked stale.
      expect(await v.verify(deleted.token)).toMatchObject({ valid: true, stale: true });
      await sleep(1_000);
      proxy.restore();
      const expected = { deleted: 'REVOKED', roomGone: 'REVOKED', changed: 'SUPERSEDED', banned: 'REVOKED' } as const;
      for (const [name, p] of Object.entries({ deleted, roomGone, changed, banned })) {
        const { result } = await untilRefused(v, p.token, 10_000);
        expect(result, name).toMatchObject({ valid: false, reason: expected[name as keyof typeof expected] });
      }
      expect(v.freshness().connected).toBe(true);
    } finally {
      await v.close();
    }
  }, 30_000);

  it('fails closed after failClosedAfterSeconds of silence, or stays open with stale results when told to', async () => {
    const closed = await verifier(proxy.address, { stale: { failClosedAfterSeconds: 4 } });
    const open = await verifier(proxy.address, { stale: 'fail-open' });
    try {
      const p = await peerInRoom();
      expect(await closed.verify(p.token)).toMatchObject({ valid: true, stale: false });
      proxy.cut();
      await sleep(1_000);
      // Disconnected, the last heartbeat at most about 2 s old: accepted, marked stale.
      expect(closed.freshness().lastEventAgeMs!).toBeLessThan(4_000);
      expect(await closed.verify(p.token)).toMatchObject({ valid: true, stale: true });
      let refused = await closed.verify(p.token);
      const deadline = Date.now() + 10_000;
      while (refused.valid && Date.now() < deadline) {
        await sleep(50);
        refused = await closed.verify(p.token);
      }
      expect(refused).toMatchObject({ valid: false, reason: 'STALE', stale: true, claims: { peerId: p.peerId } });
      // Refused only once nothing had come for the 4 s.
      expect(closed.freshness().lastEventAgeMs!).toBeGreaterThan(4_000);
      expect(closed.recheck(refused.claims!)).toMatchObject({ valid: false, reason: 'STALE' });
      expect(await open.verify(p.token)).toMatchObject({ valid: true, stale: true });
      expect(open.freshness().lastEventAgeMs!).toBeGreaterThan(2_000);
      proxy.restore();
      // Reconnecting backs off (up to 5 s a try) and a resumed feed is fresh with its first heartbeat.
      const back = Date.now() + 20_000;
      while (closed.freshness().stale && Date.now() < back) await sleep(50);
      expect(await closed.verify(p.token)).toMatchObject({ valid: true, stale: false });
    } finally {
      await closed.close();
      await open.close();
    }
  }, 45_000);

  it('follows a restart of roomgate behind the same address, losing nothing revoked in between', async () => {
    let first: TestRoomgate | undefined = await startTestRoomgate({}, { sharing: t });
    let second: TestRoomgate | undefined;
    const restartProxy = await cuttableProxy(first.roomgate.port);
    const v = await verifier(restartProxy.address);
    try {
      const [a, b] = await Promise.all([peerInRoom(), peerInRoom()]);
      await t.client.peers.deletePeer({ roomId: a.roomId, peerId: a.peerId }, as(admin));
      expect((await untilRefused(v, a.token)).result).toMatchObject({ reason: 'REVOKED' });
      await first.close();
      first = undefined;
      // Revoked while no instance serves the feed.
      await t.client.peers.updatePeer({ roomId: b.roomId, peerId: b.peerId, permissions: NO_PERMISSIONS }, as(admin));
      expect((await v.verify(b.token)).valid).toBe(true);
      second = await startTestRoomgate({}, { sharing: t });
      restartProxy.retarget(second.roomgate.port);
      expect((await untilRefused(v, b.token, 15_000)).result).toMatchObject({ valid: false, reason: 'SUPERSEDED' });
      // And the new instance's feed carries what comes next.
      const c = await peerInRoom();
      await t.client.rooms.deleteRoom({ roomId: c.roomId }, as(admin));
      expect((await untilRefused(v, c.token)).result).toMatchObject({ reason: 'REVOKED' });
      expect(v.freshness()).toMatchObject({ connected: true, stale: false });
    } finally {
      await v.close();
      await restartProxy.close();
      await first?.close();
      await second?.close();
    }
  }, 60_000);
});

describe('starting', () => {
  it('fails with the status when the feed token is refused, and starts with a broader one', async () => {
    await expect(verifier(t.address, { feed: { address: t.address, token: 'not-a-token' } })).rejects.toThrow(/WatchEvents failed: UNAUTHENTICATED/);
    const broader = await verifier(t.address, { feed: { address: t.address, token: admin } });
    const p = await peerInRoom();
    await t.client.peers.deletePeer({ roomId: p.roomId, peerId: p.peerId }, as(admin));
    expect((await untilRefused(broader, p.token)).result).toMatchObject({ reason: 'REVOKED' });
    await broader.close();
  });
});
