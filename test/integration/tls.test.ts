// Server TLS and mutual TLS with certificates the test makes, and
// `roomgate health` (the compiled bin, as the Docker HEALTHCHECK runs it) against them.
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoomgateClient } from '../../src/client/index.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { baseEnv, ROOMGATE_BIN } from '../support/server-process.js';
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

/** Runs `roomgate health --address address ...args` with only `env`; resolves with how it exited. */
async function health(address: string, args: string[], env: Record<string, string> = {}) {
  return promisify(execFile)(process.execPath, [ROOMGATE_BIN, 'health', '--address', address, ...args], { env: { ...baseEnv, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

const SERVING = { code: 0, stdout: 'SERVING\n' };
/** Exit 1, and the handshake's reason on stdout. */
const unreachable = (reason: RegExp) => ({ code: 1, stdout: expect.stringMatching(new RegExp(`^unreachable: 14 UNAVAILABLE: .*${reason.source}`)) });

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

describe('roomgate health over TLS', () => {
  it('dials TLS when the server environment has it, trusting the CA it is given, else the system roots', async () => {
    const serverEnv = { ROOMGATE_TLS_CERT_FILE: pki.serverCertFile, ROOMGATE_TLS_KEY_FILE: pki.serverKeyFile };
    const { t } = await start(serverEnv);
    expect(await health(t.address, [], { ...serverEnv, ROOMGATE_HEALTH_CA_FILE: pki.caCertFile })).toMatchObject(SERVING);
    expect(await health(t.address, ['--tls', '--ca-file', pki.caCertFile])).toMatchObject(SERVING);
    expect(await health(t.address, ['--ca-file', pki.caCertFile])).toMatchObject(SERVING);
    // Another CA, the system roots, and plaintext all fail.
    expect(await health(t.address, ['--ca-file', pki.otherCaCertFile])).toMatchObject(unreachable(/unable to verify the first certificate/));
    expect(await health(t.address, [], serverEnv)).toMatchObject(unreachable(/unable to verify the first certificate/));
    expect(await health(t.address, [])).toMatchObject(unreachable(/(Failed to connect|ECONNRESET)/));
  });

  it('checks the --server-name a certificate carries when it does not name the dialed 127.0.0.1', async () => {
    const serverEnv = { ROOMGATE_TLS_CERT_FILE: pki.namedServerCertFile, ROOMGATE_TLS_KEY_FILE: pki.namedServerKeyFile };
    const { t } = await start(serverEnv);
    expect(await health(t.address, ['--ca-file', pki.caCertFile])).toMatchObject(unreachable(/ERR_TLS_CERT_ALTNAME_INVALID/));
    expect(await health(t.address, ['--ca-file', pki.caCertFile, '--server-name', 'roomgate.internal'])).toMatchObject(SERVING);
    expect(await health(t.address, ['--ca-file', pki.caCertFile, '--server-name', 'other.internal'])).toMatchObject(
      unreachable(/ERR_TLS_CERT_ALTNAME_INVALID/),
    );
    // A HEALTHCHECK with no flags: everything from the container's environment.
    const containerEnv = { ...serverEnv, ROOMGATE_HEALTH_CA_FILE: pki.caCertFile, ROOMGATE_HEALTH_SERVER_NAME: 'roomgate.internal' };
    expect(await health(t.address, [], containerEnv)).toMatchObject(SERVING);
  });

  it('with mutual TLS, exits 0 only when it presents a client certificate the server CA signed', async () => {
    const serverEnv = {
      ROOMGATE_TLS_CERT_FILE: pki.serverCertFile,
      ROOMGATE_TLS_KEY_FILE: pki.serverKeyFile,
      ROOMGATE_TLS_CLIENT_CA_FILE: pki.caCertFile,
      ROOMGATE_HEALTH_CA_FILE: pki.caCertFile,
    };
    const { t } = await start(serverEnv);
    expect(await health(t.address, [], serverEnv)).toMatchObject(unreachable(/certificate required/));
    expect(await health(t.address, ['--cert-file', pki.otherClientCertFile, '--key-file', pki.otherClientKeyFile], serverEnv)).toMatchObject(
      unreachable(/(unknown ca|ECONNRESET|Failed to connect)/),
    );
    expect(await health(t.address, ['--cert-file', pki.clientCertFile, '--key-file', pki.clientKeyFile], serverEnv)).toMatchObject(SERVING);
    const withClient = { ...serverEnv, ROOMGATE_HEALTH_CERT_FILE: pki.clientCertFile, ROOMGATE_HEALTH_KEY_FILE: pki.clientKeyFile };
    expect(await health(t.address, [], withClient)).toMatchObject(SERVING);
    expect(await health(t.address, ['--cert-file', pki.clientCertFile], serverEnv)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--cert-file and --key-file go together/),
    });
  });
});
