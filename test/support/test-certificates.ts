// Throwaway certificates for TLS tests, made with the openssl command line
// (Debian's openssl package): a CA, a server certificate for 127.0.0.1 and
// localhost, one for the host name roomgate.internal only (as a server reached
// on loopback by its health check may have), and a client certificate, all
// signed by that CA.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const openssl = (...args: string[]) => promisify(execFile)('openssl', args);

/** Paths and contents of a CA-signed server and client identity. */
export interface TestPki {
  dir: string;
  caCert: Buffer;
  serverCertFile: string;
  serverKeyFile: string;
  caCertFile: string;
  /** Names only roomgate.internal, not the 127.0.0.1 a test dials. */
  namedServerCertFile: string;
  namedServerKeyFile: string;
  clientCert: Buffer;
  clientKey: Buffer;
  clientCertFile: string;
  clientKeyFile: string;
}

async function signed(dir: string, ca: string, name: string, ext: string): Promise<void> {
  await openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.csr`), '-subj', `/CN=${name}`);
  await writeFile(path.join(dir, `${name}.ext`), ext);
  await openssl('x509', '-req', '-in', path.join(dir, `${name}.csr`), '-CA', path.join(dir, `${ca}.crt`),
    '-CAkey', path.join(dir, `${ca}.key`), '-CAcreateserial', '-days', '2', '-out', path.join(dir, `${name}.crt`),
    '-extfile', path.join(dir, `${name}.ext`));
}

async function authority(dir: string, name: string): Promise<void> {
  await openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`), '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
}

/** Makes a CA with server and client certificates; `other` is a second, unrelated CA and a client it signed. */
export async function makePki(): Promise<
  TestPki & { otherCaCertFile: string; otherClientCert: Buffer; otherClientKey: Buffer; otherClientCertFile: string; otherClientKeyFile: string }
> {
  const dir = await mkdtemp(path.join(tmpdir(), 'roomgate-pki-'));
  await authority(dir, 'ca');
  await authority(dir, 'other-ca');
  await signed(dir, 'ca', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await signed(dir, 'ca', 'named-server', 'subjectAltName=DNS:roomgate.internal\nextendedKeyUsage=serverAuth\n');
  await signed(dir, 'ca', 'client', 'extendedKeyUsage=clientAuth\n');
  await signed(dir, 'other-ca', 'stranger', 'extendedKeyUsage=clientAuth\n');
  const read = (f: string) => readFile(path.join(dir, f));
  return {
    dir,
    caCert: await read('ca.crt'),
    caCertFile: path.join(dir, 'ca.crt'),
    serverCertFile: path.join(dir, 'server.crt'),
    serverKeyFile: path.join(dir, 'server.key'),
    namedServerCertFile: path.join(dir, 'named-server.crt'),
    namedServerKeyFile: path.join(dir, 'named-server.key'),
    clientCert: await read('client.crt'),
    clientKey: await read('client.key'),
    clientCertFile: path.join(dir, 'client.crt'),
    clientKeyFile: path.join(dir, 'client.key'),
    otherCaCertFile: path.join(dir, 'other-ca.crt'),
    otherClientCert: await read('stranger.crt'),
    otherClientKey: await read('stranger.key'),
    otherClientCertFile: path.join(dir, 'stranger.crt'),
    otherClientKeyFile: path.join(dir, 'stranger.key'),
  };
}
