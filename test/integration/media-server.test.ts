// The reference media-server adapter (examples/media-server) as a separate
// process against a live roomgate on real Postgres, with real WebSocket
// clients (`ws`): joins, refusals and their close codes, kicks, bans, the
// status reports, and 200 peers at once. The adapter verifies tokens offline
// (JWKS over HTTP) and learns revocations from its WatchEvents feed, so every
// kick here travels roomgate → feed → adapter → socket.
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PeerStatus } from '../../src/client/index.js';
import { ManualClock } from '../../src/domain/clock.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { PeerTokens } from '../../src/domain/peer-token.js';
import { SigningKeyRing } from '../../src/domain/signing-keys.js';
import { PgSigningKeyStore } from '../../src/store/signing-key-store.js';
import { createTestDatabase } from '../support/database.js';
import { buildMediaServer, connectPeer, startMediaServer, type MediaServer } from '../support/media-server.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { waitUntil } from '../support/wait-until.js';

let t: TestRoomgate;
let admin: string;
let verifyToken: string;
let adapter: MediaServer;
let before: { live: Awaited<ReturnType<typeof peerIn>>; deleted: Awaited<ReturnType<typeof peerIn>> };

beforeAll(async () => {
  await buildMediaServer();
  t = await startTestRoomgate({ ROOMGATE_HTTP_ADDRESS: '127.0.0.1:0' });
  admin = await t.managementToken();
  verifyToken = await t.managementToken('sandbox', ['verify']);
  // Made before the adapter (and its feed) starts: the feed never sees this
  // deletion, so only the adapter's online check of older tokens refuses it.
  const roomId = await room();
  before = { live: await peerIn(roomId), deleted: await peerIn(roomId) };
  await t.client.peers.deletePeer({ roomId, peerId: before.deleted.peerId }, { token: admin });
  adapter = await startMediaServer({
    ROOMGATE_GRPC_ADDRESS: t.address,
    ROOMGATE_JWKS_URL: `${t.httpUrl}/.well-known/jwks.json`,
    ROOMGATE_ENVIRONMENT: 'sandbox',
    ROOMGATE_VERIFY_TOKEN: verifyToken,
  });
}, 240_000);

afterAll(async () => {
  if (adapter) {
    const logged = adapter.output();
    await adapter.stop();
    // No token, peer or management, ever reaches the adapter's log.
    expect(logged).not.toContain(verifyToken);
    expect(logged).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  }
  await t?.close();
});

const NONE = { canPublish: false, canSubscribe: false, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false };

async function room(): Promise<string> {
  return (await t.client.rooms.createRoom({}, { token: admin })).room!.id;
}

async function peerIn(roomId: string, identity = '') {
  const res = await t.client.peers.createPeer({ roomId, identity, permissions: { canPublish: true, canSubscribe: true } }, { token: admin });
  return { roomId, peerId: res.peer!.id, identity: res.peer!.identity, token: res.peerToken };
}

async function peerStatus(roomId: string, peerId: string): Promise<PeerStatus> {
  return (await t.client.peers.getPeer({ roomId, peerId }, { token: admin })).peer!.status;
}

function waitForStatus(roomId: string, peerId: string, want: PeerStatus): Promise<void> {
  return waitUntil(async () => (await peerStatus(roomId, peerId)) === want, 5_000);
}

/** Kicks measured; ROOMGATE_MEDIA_SERVER_KICKS raises it for a longer measurement. */
const KICKS = Number(process.env.ROOMGATE_MEDIA_SERVER_KICKS ?? 20);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('joining', () => {
  it('admits a peer with a valid token, says so in a joined message, and reports CONNECTED', async () => {
    const p = await peerIn(await room(), 'alice');
    const { ws, joined } = connectPeer(adapter.url(p.roomId), p.token);
    expect(await joined).toMatchObject({ type: 'joined', roomId: p.roomId, peerId: p.peerId, identity: 'alice' });
    expect(ws.protocol).toBe('roomgate.v1');
    await waitForStatus(p.roomId, p.peerId, PeerStatus.PEER_STATUS_CONNECTED);
    ws.close(1000);
    await waitForStatus(p.roomId, p.peerId, PeerStatus.PEER_STATUS_DISCONNECTED);
  });

  it('asks roomgate about tokens issued before its feed started: a peer deleted before then is refused, a live one admitted', async () => {
    expect(await connectPeer(adapter.url(before.deleted.roomId), before.deleted.token).closed).toMatchObject({ code: 4008, reason: 'revoked' });
    const live = connectPeer(adapter.url(before.live.roomId), before.live.token);
    expect(await live.joined).toMatchObject({ peerId: before.live.peerId });
    live.ws.close();
  });

  it('reports DISCONNECTED when a client drops its socket without a close frame', async () => {
    const p = await peerIn(await room());
    const { ws, joined } = connectPeer(adapter.url(p.roomId), p.token);
    await joined;
    await waitForStatus(p.roomId, p.peerId, PeerStatus.PEER_STATUS_CONNECTED);
    ws.terminate();
    await waitForStatus(p.roomId, p.peerId, PeerStatus.PEER_STATUS_DISCONNECTED);
  });

  it('closes the older socket with 4011 replaced when the same peer connects again, and keeps it CONNECTED', async () => {
    const p = await peerIn(await room());
    const first = connectPeer(adapter.url(p.roomId), p.token);
    await first.joined;
    await waitForStatus(p.roomId, p.peerId, PeerStatus.PEER_STATUS_CONNECTED);
    const second = connectPeer(adapter.url(p.roomId), p.token);
    await second.joined;
    expect(await first.closed).toMatchObject({ code: 4011, reason: 'replaced' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await peerStatus(p.roomId, p.peerId)).toBe(PeerStatus.PEER_STATUS_CONNECTED);
    second.ws.close();
    await waitForStatus(p.roomId, p.peerId, PeerStatus.PEER_STATUS_DISCONNECTED);
  });
});

describe('refusing', () => {
  /** Signs with the server's real key, from the database, at another time. */
  async function signerAt(when: Date) {
    const clock = new ManualClock(when);
    const ring = new SigningKeyRing(new PgSigningKeyStore(t.db.pool), new KeyEncryptor(t.config.keyEncryptionKey!), clock);
    await ring.init();
    return new PeerTokens(ring, clock, { issuer: t.config.issuer, clockToleranceSeconds: 5 });
  }

  it.each([
    ['no token', () => undefined, 4000, 'token_missing'],
    ['junk', () => 'not.a.jwt', 4001, 'malformed'],
  ])('refuses %s with its close code', async (_, token, code, reason) => {
    const roomId = await room();
    expect(await connectPeer(adapter.url(roomId), token()).closed).toMatchObject({ code, reason });
  });

  it('refuses a token with a flipped signature (4002), an expired one (4003) and one of another room (4007)', async () => {
    const p = await peerIn(await room());
    const flipped = p.token.slice(0, -2) + (p.token.at(-2) === 'A' ? 'B' : 'A') + p.token.at(-1);
    expect(await connectPeer(adapter.url(p.roomId), flipped).closed).toMatchObject({ code: 4002, reason: 'bad_signature' });

    const past = await signerAt(new Date(Date.now() - 2 * 3600_000));
    const expired = await past.sign(
      { environment: 'sandbox', roomId: p.roomId, peerId: p.peerId, identity: p.identity, name: '', metadata: '{}', permissions: NONE, generation: 1 },
      past.stamp(60),
    );
    expect(await connectPeer(adapter.url(p.roomId), expired).closed).toMatchObject({ code: 4003, reason: 'expired' });

    const otherRoom = await room();
    expect(await connectPeer(adapter.url(otherRoom), p.token).closed).toMatchObject({ code: 4007, reason: 'wrong_room' });
    // None of the refused attempts was reported.
    expect(await peerStatus(p.roomId, p.peerId)).toBe(PeerStatus.PEER_STATUS_NEW);
  });

  it('answers HTTP 404 off /rooms/<id>, and 400 to a client that does not offer roomgate.v1', async () => {
    const p = await peerIn(await room());
    expect((await fetch(`http://127.0.0.1:${adapter.port}/healthz`)).status).toBe(200);
    const statusOf = (url: string, protocols: string[]) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, protocols);
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('error', () => {});
      });
    expect(await statusOf(`ws://127.0.0.1:${adapter.port}/elsewhere`, ['roomgate.v1', `roomgate.token.${p.token}`])).toBe(404);
    expect(await statusOf(adapter.url(p.roomId), [`roomgate.token.${p.token}`])).toBe(400);
  });
});

describe('revoking', () => {
  it('closes a deleted peer\'s socket with 4008 revoked within 1 s, and refuses the token from then on', async () => {
    const roomId = await room();
    const latencies: number[] = [];
    const afterResponse: number[] = [];
    for (let i = 0; i < KICKS; i++) {
      const p = await peerIn(roomId);
      const { joined, closed } = connectPeer(adapter.url(roomId), p.token);
      await joined;
      const start = performance.now();
      await t.client.peers.deletePeer({ roomId, peerId: p.peerId }, { token: admin });
      const answered = performance.now();
      const end = await closed;
      expect(end).toMatchObject({ code: 4008, reason: 'revoked' });
      latencies.push(end.at - start);
      afterResponse.push(end.at - answered);
      if (i === 0) expect(await connectPeer(adapter.url(roomId), p.token).closed).toMatchObject({ code: 4008, reason: 'revoked' });
    }
    const summary = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`;
    };
    console.log(`media-server kick, ${KICKS} kicks: DeletePeer sent -> socket closed: ${summary(latencies)}; DeletePeer answered -> socket closed: ${summary(afterResponse)}`);
    // Generous: the figures printed above are the ones that matter.
    expect(percentile([...latencies].sort((a, b) => a - b), 99)).toBeLessThan(3_000);
  });

  it('closes a superseded peer\'s socket with 4009 when its permissions change; a refreshed token joins again', async () => {
    const p = await peerIn(await room());
    const first = connectPeer(adapter.url(p.roomId), p.token);
    await first.joined;
    await waitForStatus(p.roomId, p.peerId, PeerStatus.PEER_STATUS_CONNECTED);
    await t.client.peers.updatePeer({ roomId: p.roomId, peerId: p.peerId, permissions: { canSubscribe: true } }, { token: admin });
    expect(await first.closed).toMatchObject({ code: 4009, reason: 'superseded' });
    // The peer still exists, so its disconnect is recorded.
    await waitForStatus(p.roomId, p.peerId, PeerStatus.PEER_STATUS_DISCONNECTED);
    expect(await connectPeer(adapter.url(p.roomId), p.token).closed).toMatchObject({ code: 4009 });

    const { peerToken } = await t.client.tokens.refreshPeerToken({}, { token: p.token });
    const again = connectPeer(adapter.url(p.roomId), peerToken);
    expect(await again.joined).toMatchObject({ peerId: p.peerId, permissions: { canPublish: false, canSubscribe: true } });
    again.ws.close();
  });

  it('keeps a banned identity out: kicked at once, its old token refused, no new peer for it', async () => {
    const roomId = await room();
    const mallory = await peerIn(roomId, 'mallory');
    const bob = await peerIn(roomId, 'bob');
    const m = connectPeer(adapter.url(roomId), mallory.token);
    const b = connectPeer(adapter.url(roomId), bob.token);
    await Promise.all([m.joined, b.joined]);

    const start = performance.now();
    const { ban } = await t.client.peers.deletePeer(
      { roomId, peerId: mallory.peerId, ban: { reason: 'spam', durationSeconds: 3600 } },
      { token: admin },
    );
    expect(ban).toMatchObject({ identity: 'mallory', roomId });
    const end = await m.closed;
    expect(end).toMatchObject({ code: 4008, reason: 'revoked' });
    console.log(`media-server ban: DeletePeer with ban sent -> socket closed in ${(end.at - start).toFixed(1)} ms`);

    // The rejoin: the old token is refused by the adapter, and roomgate
    // refuses a new peer (so a new token) for the identity.
    expect(await connectPeer(adapter.url(roomId), mallory.token).closed).toMatchObject({ code: 4008 });
    await expectStatus(
      t.client.peers.createPeer({ roomId, identity: 'mallory' }, { token: admin }),
      status.FAILED_PRECONDITION,
      /ban/i,
    );
    // Others in the room are untouched.
    expect(b.ws.readyState).toBe(b.ws.OPEN);
    b.ws.close();
  });
});

describe('what delays a kick', () => {
  it('a write transaction open in another database of the same Postgres holds the revocation back until it ends (measured)', async () => {
    // WatchEvents hands out an event once every transaction that was open
    // when it committed has ended, and Postgres's snapshot counts those of
    // every database in the cluster (docs/media-servers.md, "How fast").
    const HOLD_MS = 3_000;
    const elsewhere = await createTestDatabase();
    const roomId = await room();
    const p = await peerIn(roomId);
    const peer = connectPeer(adapter.url(roomId), p.token);
    await peer.joined;
    const client = await elsewhere.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT txid_current()');
      const start = performance.now();
      const committed = new Promise((r) => setTimeout(r, HOLD_MS)).then(() => client.query('COMMIT'));
      await t.client.peers.deletePeer({ roomId, peerId: p.peerId }, { token: admin });
      const end = await peer.closed;
      await committed;
      expect(end).toMatchObject({ code: 4008 });
      console.log(`media-server kick with a ${HOLD_MS} ms write transaction open in another database: ${(end.at - start).toFixed(0)} ms`);
      expect(end.at - start).toBeLessThan(HOLD_MS + 5_000);
    } finally {
      client.release();
      await elsewhere.drop();
    }
  });
});

describe('many peers', () => {
  it('serves 200 sockets at once, reports each CONNECTED, and drops them all when the room is deleted', async () => {
    const COUNT = 200;
    const roomId = await room();
    const peers = [];
    for (let i = 0; i < COUNT; i += 20) {
      peers.push(...(await Promise.all(Array.from({ length: Math.min(20, COUNT - i) }, () => peerIn(roomId)))));
    }
    const sockets = peers.map((p) => connectPeer(adapter.url(roomId), p.token));
    const joined = await Promise.all(sockets.map((s) => s.joined));
    expect(new Set(joined.map((j) => j.peerId)).size).toBe(COUNT);

    await waitUntil(async () => {
      let connected = 0;
      let pageToken = '';
      do {
        const page = await t.client.peers.listPeers({ roomId, pageSize: 100, pageToken }, { token: admin });
        connected += page.peers.filter((p) => p.status === PeerStatus.PEER_STATUS_CONNECTED).length;
        pageToken = page.nextPageToken;
      } while (pageToken);
      return connected === COUNT;
    }, 20_000, 200);

    const start = performance.now();
    await t.client.rooms.deleteRoom({ roomId }, { token: admin });
    const ends = await Promise.all(sockets.map((s) => s.closed));
    expect(new Set(ends.map((e) => e.code))).toEqual(new Set([4008]));
    const last = Math.max(...ends.map((e) => e.at)) - start;
    console.log(`media-server: ${COUNT} sockets, DeleteRoom sent -> last socket closed in ${last.toFixed(1)} ms`);
    expect(last).toBeLessThan(10_000);
  }, 60_000);
});
