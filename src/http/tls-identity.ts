import { readFile } from 'node:fs/promises';

/**
 * The certificate and key of the gRPC listener's TLS settings, for the public
 * listener to serve HTTPS with. The client CA is left out on purpose: this
 * listener serves public keys and health to verifiers and load balancers that
 * have no client certificate (docs/security.md).
 */
export async function tlsIdentity(tls: { certFile: string; keyFile: string } | undefined): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (!tls) return undefined;
  const [cert, key] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile)]);
  return { cert, key };
}
