// Server TLS and mutual TLS with certificates the test makes.
import { rm } from 'node:fs/promises';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoomgateClient } from '../../src/client/index.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { makePki } from '../support/test-certificates.js';

let pki: Awaited<ReturnType<typeof makePki>>;
const servers: TestRoomgate[] = [];

beforeAll(async () => {
  pki = await makePki();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  if (pki) await rm(pki.dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>) {
  const t = await startTestRoomgate(env);
  servers.push(t);
  return { t, token: await t.managementToken('sandbox') };
}

describe('TLS', () => {
  it('serves TLS with the configured certificate, and refuses plaintext', async () => {
    const { t, token } = await start({ ROOMGATE_TLS_CERT_FILE: pki.serverCertFile, ROOMGATE_TLS_KEY_FILE: pki.serverKeyFile });
    const secure = createRoomgateClient(t.address, { token, credentials: credentials.createSsl(pki.caCert) });
    expect((await secure.rooms.createRoom({ name: 'over-tls' })).room!.name).toBe('over-tls');
    secure.close();
    const plain = createRoomgateClient(t.address, { token, deadlineMs: 3_000 });
    await expectStatus(plain.rooms.listRooms({}), status.UNAVAILABLE);
    plain.close();
  });

  it('with a client CA, admits only clients with a certificate that CA signed', async () => {
    const { t, token } = await start({
      ROOMGATE_TLS_CERT_FILE: pki.serverCertFile,
      ROOMGATE_TLS_KEY_FILE: pki.serverKeyFile,
      ROOMGATE_TLS_CLIENT_CA_FILE: pki.caCertFile,
    });
    const good = createRoomgateClient(t.address, {
      token,
      credentials: credentials.createSsl(pki.caCert, pki.clientKey, pki.clientCert),
    });
    expect((await good.rooms.createRoom({ name: 'mtls' })).room!.name).toBe('mtls');
    good.close();
    for (const creds of [
      credentials.createSsl(pki.caCert),
      credentials.createSsl(pki.caCert, pki.otherClientKey, pki.otherClientCert),
    ]) {
      const refused = createRoomgateClient(t.address, { token, credentials: creds, deadlineMs: 3_000 });
      await expectStatus(refused.rooms.listRooms({}), status.UNAVAILABLE);
      refused.close();
    }
  });
});
