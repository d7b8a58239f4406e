// The public HTTP listener under the gRPC listener's TLS settings: HTTPS with
// the same certificate (from test-certificates.ts, a throwaway CA), no
// plaintext on that port, no client certificate asked for even when gRPC
// requires one (ROOMGATE_TLS_CLIENT_CA_FILE), and the headers timeout bounding
// the TLS handshake too. PyJWKClient verifies a token over HTTPS, trusting the
// test CA through SSL_CERT_FILE as an operator's private CA would be trusted.
import { credentials } from '@grpc/grpc-js';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoomgateClient, type RoomgateClient } from '../../src/client/index.js';
import { JWKS_PATH } from '../../src/http/jwks-route.js';
import { missingPyJwt, PYTHON_REQUIRED, startPythonVerifier } from '../support/python-verifier.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { makePki } from '../support/test-certificates.js';

let pki: Awaited<ReturnType<typeof makePki>>;
let t: TestRoomgate;
let client: RoomgateClient;
beforeAll(async () => {
  pki = await makePki();
  t = await startTestRoomgate({
    ROOMGATE_TLS_CERT_FILE: pki.serverCertFile,
    ROOMGATE_TLS_KEY_FILE: pki.serverKeyFile,
    ROOMGATE_TLS_CLIENT_CA_FILE: pki.caCertFile,
    ROOMGATE_HTTP_HEADERS_TIMEOUT_MS: '1000',
  });
  client = createRoomgateClient(t.address, {
    token: await t.managementToken(),
    credentials: credentials.createSsl(pki.caCert, pki.clientKey, pki.clientCert),
  });
});
afterAll(async () => {
  client?.close();
  await t?.close();
});

const port = () => Number(new URL(t.httpUrl).port);

/** A GET over HTTPS trusting `ca`; resolves with status, headers and body. */
function get(path: string, ca: Buffer | null = pki.caCert): Promise<{ status: number; headers: Record<string, unknown>; body: string; peerCertificate: tls.PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: port(), path, ca: ca ?? undefined, servername: 'localhost', agent: false }, (res) => {
      let body = '';
      const peerCertificate = (res.socket as tls.TLSSocket).getPeerCertificate();
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, peerCertificate }));
    });
    req.on('error', reject);
  });
}

describe('the HTTP listener with ROOMGATE_TLS_*', () => {
  it('serves HTTPS with the gRPC certificate, and asks for no client certificate although gRPC requires one', async () => {
    expect(t.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await get(JWKS_PATH);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/jwk-set+json');
    expect(res.body).toBe((await client.tokens.getJwks({})).jwksJson);
    expect(res.peerCertificate.subject.CN).toBe('server');
    expect((await get('/readyz')).status).toBe(200);
  });

  it('refuses a client that does not trust the certificate, and speaks no plaintext HTTP on that port', async () => {
    await expect(get('/healthz', null)).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
    const plain = await fetch(`http://127.0.0.1:${port()}/healthz`).then(
      (r) => `HTTP ${r.status}`,
      (e: Error) => `failed: ${e.message}`,
    );
    expect(plain).toMatch(/^failed|^HTTP 400$/);
  });

  it('closes a connection that never completes its TLS handshake once the headers timeout (1 s here) has passed', async () => {
    const closedAfterMs = await new Promise<number>((resolve) => {
      const started = Date.now();
      const socket = net.connect(port(), '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(Date.now() - started));
    });
    expect(closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(closedAfterMs).toBeLessThan(5_000);
  });

  it('lets PyJWKClient fetch the keys over HTTPS and verify a peer token offline', async (ctx) => {
    const missing = await missingPyJwt();
    if (missing !== undefined) {
      if (PYTHON_REQUIRED) throw new Error(`ROOMGATE_REQUIRE_PYTHON_EXAMPLE=1, but ${missing}`);
      return ctx.skip(missing);
    }
    const { room } = await client.rooms.createRoom({});
    const { peer, peerToken } = await client.peers.createPeer({ roomId: room!.id, identity: 'tls-user' });
    const verifier = startPythonVerifier(`${t.httpUrl}${JWKS_PATH}`, { SSL_CERT_FILE: pki.caCertFile });
    try {
      expect(await verifier.verify(peerToken)).toMatch(new RegExp(`^valid peer ${peer!.id} room ${room!.id} kid `));
    } finally {
      await verifier.close();
    }
    // Without the CA it cannot fetch the keys, and says so rather than accepting anything.
    const untrusting = startPythonVerifier(`${t.httpUrl}${JWKS_PATH}`);
    try {
      expect(await untrusting.verify(peerToken)).toMatch(/^invalid PyJWKClientError: Fail to fetch data from the url.*CERTIFICATE_VERIFY_FAILED/);
    } finally {
      await untrusting.close();
    }
  });
});
