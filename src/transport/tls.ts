import { readFile } from 'node:fs/promises';
import { ServerCredentials } from '@grpc/grpc-js';

/** Files of the server's TLS identity, and optionally the CA that signs client certificates. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile: string | undefined;
}

/**
 * Server credentials from PEM files. With a client CA, every client must
 * present a certificate that CA signed (mutual TLS); the check is done in the
 * handshake, before any call reaches roomgate.
 */
export async function serverCredentials(tls: TlsFiles | undefined): Promise<ServerCredentials> {
  if (!tls) return ServerCredentials.createInsecure();
  const [cert, key, ca] = await Promise.all([
    readFile(tls.certFile),
    readFile(tls.keyFile),
    tls.clientCaFile ? readFile(tls.clientCaFile) : Promise.resolve(null),
  ]);
  return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null);
}
