import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { ServerInterceptingCall, ServerListenerBuilder, type Metadata, type ServerInterceptor } from '@grpc/grpc-js';
import { clientKey } from '../http/client-address.js';
import { plainAddress, TrustedProxies } from '../http/trusted-proxies.js';

/**
 * Metadata key of the client's address. The gRPC-Web bridge sends the
 * browser's there; {@link clientAddressInterceptor} removes whatever a call
 * brings under it and sets the address it has decided on, which
 * {@link callClientKey} reads.
 */
export const CLIENT_ADDRESS_HEADER = 'roomgate-client-address';

/** Metadata key of the bridge's key (see {@link CallAddressTrust.bridgeKey}); removed before any handler runs. */
export const BRIDGE_KEY_HEADER = 'roomgate-bridge-key';

/** Whom the gRPC server believes about a call's client address. */
export interface CallAddressTrust {
  /** Proxies whose `x-forwarded-for` metadata is believed on a TCP connection from them. */
  proxies: TrustedProxies;
  /**
   * The gRPC-Web bridge's random key (src/http/grpc-web-socket.ts): a call
   * that has no remote IP address (the bridge's private Unix socket) and
   * carries this key in {@link BRIDGE_KEY_HEADER} is believed about
   * {@link CLIENT_ADDRESS_HEADER}. Undefined: no call is.
   */
  bridgeKey?: Buffer;
}

/** Believes no one: the client is the connection's peer. */
export const TRUST_NO_ONE: CallAddressTrust = { proxies: new TrustedProxies() };

/**
 * A server interceptor that decides each call's client address before any
 * handler runs: on a TCP connection, the peer's address, or through a
 * trusted proxy the address its `x-forwarded-for` names; on a connection
 * without an address, the address the bridge sent, only with the bridge's
 * key. Neither header alone is believed: a TCP client cannot send the
 * Unix socket's lack of an address, and never sees the key, which exists only
 * in this process and on a socket in a 0700 directory.
 */
export function clientAddressInterceptor(trust: CallAddressTrust): ServerInterceptor {
  return (_method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next(
          new ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, pass) => {
              const address = decide(metadata, call.getConnectionInfo().remoteAddress, trust);
              metadata.remove(CLIENT_ADDRESS_HEADER);
              metadata.remove(BRIDGE_KEY_HEADER);
              if (address !== undefined) metadata.set(CLIENT_ADDRESS_HEADER, address);
              pass(metadata);
            })
            .build(),
        ),
    });
}

function decide(metadata: Metadata, remoteAddress: string | undefined, trust: CallAddressTrust): string | undefined {
  if (remoteAddress) {
    const forwarded = metadata.get('x-forwarded-for').filter((v): v is string => typeof v === 'string');
    return trust.proxies.clientAddress(remoteAddress, forwarded.length > 0 ? forwarded : undefined);
  }
  const [key] = metadata.get(BRIDGE_KEY_HEADER);
  const [address] = metadata.get(CLIENT_ADDRESS_HEADER);
  if (!trust.bridgeKey || typeof key !== 'string' || typeof address !== 'string') return undefined;
  const sent = Buffer.from(key, 'base64url');
  if (sent.length !== trust.bridgeKey.length || !timingSafeEqual(sent, trust.bridgeKey)) return undefined;
  return plainAddress(address);
}

/**
 * The key per-client limits count a gRPC call under (see clientKey): the
 * client address {@link clientAddressInterceptor} decided on, which every
 * call of the roomgate server has; without one (a call with no address),
 * 'unknown', a bucket all such calls share.
 */
export function callClientKey(call: { metadata: Metadata }): string {
  const [address] = call.metadata.get(CLIENT_ADDRESS_HEADER);
  return typeof address === 'string' && isIP(address) !== 0 ? clientKey(address) : 'unknown';
}
