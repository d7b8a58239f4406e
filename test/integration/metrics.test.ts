// Prometheus metrics on their own port, scraped after real RPCs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let admin: string;

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

const scrape = async (path = '/metrics') => fetch(`http://127.0.0.1:${t.roomgate.metricsPort}${path}`);

describe('/metrics', () => {
  it('counts RPCs by method and code, tokens issued and verifications by result, with latency and pool figures', async () => {
    const { room } = await t.client.rooms.createRoom({}, { token: admin });
    const p = await t.client.peers.createPeer({ roomId: room!.id }, { token: admin });
    await t.client.tokens.verifyPeerToken({ token: p.peerToken }, { token: admin });
    await t.client.peers.deletePeer({ roomId: room!.id, peerId: p.peer!.id }, { token: admin });
    await t.client.tokens.verifyPeerToken({ token: p.peerToken }, { token: admin });
    await t.client.rooms.getRoom({ roomId: room!.id }, { token: 'rg_live_nope' }).catch(() => undefined);

    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('roomgate_rpc_requests_total{method="CreateRoom",code="0"} 1');
    expect(text).toContain('roomgate_rpc_requests_total{method="VerifyPeerToken",code="0"} 2');
    expect(text).toContain('roomgate_rpc_requests_total{method="GetRoom",code="16"} 1');
    expect(text).toContain('roomgate_peer_tokens_issued_total{method="CreatePeer"} 1');
    expect(text).toContain('roomgate_peer_token_verifications_total{result="valid"} 1');
    expect(text).toContain('roomgate_peer_token_verifications_total{result="REVOKED"} 1');
    expect(text).toMatch(/roomgate_rpc_duration_seconds_bucket\{le="0\.5",method="CreatePeer"\} 1/);
    expect(text).toMatch(/roomgate_db_pool_connections\{state="total"\} [1-9]/);
    expect(text).toContain('roomgate_rpc_in_flight 0');
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).not.toContain(admin);
    expect((await scrape('/other')).status).toBe(404);
  });
});
