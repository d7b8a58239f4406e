import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The internal listener of the gRPC-Web bridge. */
export interface BridgeSocket {
  /** A grpc-js address, `unix:/…/grpc.sock`. */
  address: string;
  /** Removes the socket's directory (after the server has stopped listening). */
  remove(): Promise<void>;
}

/**
 * A Unix socket path for the plaintext listener that only the gRPC-Web bridge
 * dials, in a fresh directory that mkdtemp creates with mode 0700: no other
 * OS user can connect, and nothing on the network can, whatever TLS or mTLS
 * the public gRPC listener demands. The bridge then needs no client
 * certificate and no route to wherever the public listener is bound.
 */
export async function bridgeSocket(): Promise<BridgeSocket> {
  const dir = await mkdtemp(join(tmpdir(), 'roomgate-grpc-web-'));
  return {
    address: `unix:${join(dir, 'grpc.sock')}`,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
