// The reference media-server adapter while roomgate is down, and at its own
// shutdown. The adapter talks to one roomgate instance on fixed ports; a
// second instance on the same database stays up for the test's own calls.
// Stopping the first and starting another on its ports plays a roomgate
// restart: the adapter's feed goes stale (joins refused with 4010 once past
// the fail-closed time, connected peers kept), a peer deleted meanwhile is
// kicked once the feed resumes from its cursor, and SIGTERM reports the
// remaining peers DISCONNECTED.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerStatus } from '../../src/client/index.js';
import { buildMediaServer, connectPeer, startMediaServer, type MediaServer } from '../support/media-server.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { freePort } from '../support/server-process.js';
import { waitUntil } from '../support/wait-until.js';

const FAIL_CLOSED_AFTER_SECONDS = 3;

let owner: TestRoomgate;
let served: TestRoomgate | undefined;
let ports: Record<string, string>;
let admin: string;
let adapter: MediaServer;

beforeAll(async () => {
  await buildMediaServer();
  owner = await startTestRoomgate({ ROOMGATE_HTTP_ADDRESS: '127.0.0.1:0' });
  admin = await owner.managementToken();
  ports = { ROOMGATE_GRPC_ADDRESS: `127.0.0.1:${await freePort()}`, ROOMGATE_HTTP_ADDRESS: `127.0.0.1:${await freePort()}` };
  served = await startTestRoomgate(ports, { sharing: owner });
  adapter = await startMediaServer({
    ROOMGATE_GRPC_ADDRESS: ports.ROOMGATE_GRPC_ADDRESS!,
    ROOMGATE_JWKS_URL: `http://${ports.ROOMGATE_HTTP_ADDRESS}/.well-known/jwks.json`,
    ROOMGATE_ENVIRONMENT: 'sandbox',
    ROOMGATE_VERIFY_TOKEN: await owner.managementToken('sandbox', ['verify']),
    ROOMGATE_FEED_HEARTBEAT_SECONDS: '1',
    MEDIA_SERVER_FAIL_CLOSED_AFTER_SECONDS: String(FAIL_CLOSED_AFTER_SECONDS),
  });
}, 240_000);

afterAll(async () => {
  await adapter?.stop();
  await served?.close();
  await owner?.close();
});

async function peerIn(roomId: string) {
  const res = await owner.client.peers.createPeer({ roomId, permissions: { canSubscribe: true } }, { token: admin });
  return { roomId, peerId: res.peer!.id, token: res.peerToken };
}

/** `promise`, or a failure with the adapter's log after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms\n--- adapter ---\n${adapter.output().slice(-6000)}`)), ms);
    }),
  ]);
}

async function peerStatus(roomId: string, peerId: string): Promise<PeerStatus> {
  return (await owner.client.peers.getPeer({ roomId, peerId }, { token: admin })).peer!.status;
}

describe('while roomgate is down', () => {
  it('refuses joins with 4010 once the feed is stale, keeps connected peers, and applies what it missed when roomgate is back', async () => {
    // Tokens issued within the clock tolerance (5 s) of the feed's start are
    // checked online too, which would refuse them as soon as roomgate stops:
    // these must be newer.
    await new Promise((r) => setTimeout(r, 6_000));
    const roomId = (await owner.client.rooms.createRoom({}, { token: admin })).room!.id;
    const [kicked, kept, late] = await Promise.all([peerIn(roomId), peerIn(roomId), peerIn(roomId)]);
    const a = connectPeer(adapter.url(roomId), kicked.token);
    const b = connectPeer(adapter.url(roomId), kept.token);
    await Promise.all([a.joined, b.joined]);
    await waitUntil(async () => (await peerStatus(roomId, kept.peerId)) === PeerStatus.PEER_STATUS_CONNECTED, 5_000);

    const down = performance.now();
    await served!.close();
    served = undefined;
    // Joins go on until the feed has been silent for the fail-closed time.
    let refusedAfterMs = 0;
    await waitUntil(async () => {
      const attempt = connectPeer(adapter.url(roomId), late.token);
      const outcome = await Promise.race([attempt.joined.then(() => 'joined'), attempt.closed.then((c) => `${c.code} ${c.reason}`)]);
      attempt.ws.close();
      refusedAfterMs = performance.now() - down;
      return outcome === '4010 verifier_stale';
    }, 20_000, 250);
    console.log(`media-server: joins refused with 4010 ${(refusedAfterMs / 1000).toFixed(1)} s after roomgate stopped (fail closed after ${FAIL_CLOSED_AFTER_SECONDS} s)`);
    expect(refusedAfterMs).toBeGreaterThanOrEqual((FAIL_CLOSED_AFTER_SECONDS - 1) * 1000);

    // Deleted through the other instance while the adapter's feed is down:
    // the adapter cannot know yet, and keeps the session.
    await owner.client.peers.deletePeer({ roomId, peerId: kicked.peerId }, { token: admin });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(a.ws.readyState).toBe(a.ws.OPEN);
    expect(b.ws.readyState).toBe(b.ws.OPEN);

    served = await startTestRoomgate(ports, { sharing: owner });
    const back = performance.now();
    expect(await within(a.closed, 30_000, 'the kick after the restart')).toMatchObject({ code: 4008, reason: 'revoked' });
    console.log(`media-server: the deletion made during the outage closed its socket ${(performance.now() - back).toFixed(0)} ms after roomgate was back`);
    await within(
      waitUntil(async () => {
        const attempt = connectPeer(adapter.url(roomId), late.token);
        const ok = await attempt.joined.then(() => true, () => false);
        attempt.ws.close();
        return ok;
      }, 20_000, 250),
      25_000,
      'a join after the restart',
    );
    expect(b.ws.readyState).toBe(b.ws.OPEN);
    b.ws.close();
  }, 90_000);
});

describe('shutdown', () => {
  it('closes every socket with 1001 on SIGTERM and reports each peer DISCONNECTED before exiting', async () => {
    const roomId = (await owner.client.rooms.createRoom({}, { token: admin })).room!.id;
    const peers = await Promise.all([peerIn(roomId), peerIn(roomId), peerIn(roomId)]);
    const sockets = peers.map((p) => connectPeer(adapter.url(roomId), p.token));
    await Promise.all(sockets.map((s) => s.joined));
    for (const p of peers) {
      await waitUntil(async () => (await peerStatus(roomId, p.peerId)) === PeerStatus.PEER_STATUS_CONNECTED, 5_000);
    }
    expect(await adapter.stop()).toBe(0);
    for (const s of sockets) expect(await s.closed).toMatchObject({ code: 1001, reason: 'server_shutdown' });
    // Reported before the process exited: no waiting here.
    for (const p of peers) expect(await peerStatus(roomId, p.peerId)).toBe(PeerStatus.PEER_STATUS_DISCONNECTED);
  });
});
