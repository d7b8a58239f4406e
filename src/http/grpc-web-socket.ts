import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The internal listener of the gRPC-Web bridge. */
export interface BridgeSocket {
  /** A grpc-js address, `unix:/…/grpc.sock`. */
  address: string;
  /**
   * 32 random bytes the bridge sends with each call, so that the server
   * believes the client address it sends along (src/transport/call-address.ts).
   * It never leaves the process except on this socket.
   */
  key: Buffer;
  /** Removes the socket's directory (after the server has stopped listening). */
  remove(): Promise<void>;
}

/** Unix socket paths longer than this do not fit sockaddr_un on Linux (108 bytes with the NUL) or macOS (104). */
const MAX_SOCKET_PATH = 103;

/**
 * A Unix socket path for the plaintext listener that only the gRPC-Web bridge
 * dials, in a fresh directory that mkdtemp creates with mode 0700: no other
 * OS user can connect, and nothing on the network can, whatever TLS or mTLS
 * the public gRPC listener demands. The bridge then needs no client
 * certificate and no route to wherever the public listener is bound.
 */
export async function bridgeSocket(base = tmpdir()): Promise<BridgeSocket> {
  const advice = 'set TMPDIR to a short, writable directory, or ROOMGATE_HTTP_ADDRESS=off';
  let dir: string;
  try {
    dir = await mkdtemp(join(base, 'roomgate-grpc-web-'));
  } catch (err) {
    throw new Error(`cannot create the gRPC-Web bridge's socket directory in ${base} (${advice})`, { cause: err });
  }
  const path = join(dir, 'grpc.sock');
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`the gRPC-Web bridge's socket path ${path} is longer than a Unix socket path may be (${advice})`);
  }
  return { address: `unix:${path}`, key: randomBytes(32), remove: () => rm(dir, { recursive: true, force: true }) };
}
