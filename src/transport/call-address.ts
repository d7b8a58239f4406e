import { isIP } from 'node:net';
import { clientKey } from '../http/client-address.js';

/**
 * The key per-client limits count a gRPC call under (see clientKey): the
 * address of the connection's peer. grpc-js reports it as `address:port`,
 * without brackets around an IPv6 address, so the port is what follows the
 * last colon when the rest is an address. A connection without an address
 * (a Unix socket) is 'unknown'.
 */
export function callClientKey(call: { getPeer(): string }): string {
  const peer = call.getPeer();
  const colon = peer.lastIndexOf(':');
  const host = colon > 0 && isIP(peer.slice(0, colon)) !== 0 ? peer.slice(0, colon) : peer;
  return isIP(host) !== 0 ? clientKey(host) : 'unknown';
}
