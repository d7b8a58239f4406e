import { Client, credentials, type ClientReadableStream, type Metadata } from '@grpc/grpc-js';
import { BRIDGE_KEY_HEADER, CLIENT_ADDRESS_HEADER } from '../transport/call-address.js';
import type { ServedMethod } from '../transport/server.js';

/** Messages cross the bridge as the bytes they are on the wire: nothing is decoded twice. */
const passThrough = (bytes: Buffer): Buffer => bytes;

/**
 * The client half of the gRPC-Web bridge, as Envoy's grpc_web filter does
 * it: each browser call becomes the same call on this process's own gRPC
 * server, through a plaintext listener that only the bridge dials (see
 * {@link bridgeSocket}), so the browser gets the very handler, checks and
 * error table a native caller gets. Messages pass through as bytes.
 */
export class GrpcWebBridge {
  private readonly unaryClient: Client;
  private readonly streamClient: Client;
  private readonly calls = new Set<ClientReadableStream<Buffer>>();
  private closed = false;
  private readonly key: string;

  /**
   * `address` is the internal listener's, e.g. `unix:/tmp/roomgate-grpc-web-XXXX/grpc.sock`,
   * and `key` the socket's key ({@link BridgeSocket.key}), which vouches for the client addresses the bridge sends.
   */
  constructor(address: string, key: Buffer) {
    this.key = key.toString('base64url');
    // Two connections: long-lived streams fill the server's concurrent-stream
    // limit of theirs (StreamSlots keeps them within it), never the one that
    // unary calls take.
    const client = () =>
      new Client(address, credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
        // The server already bounds what it sends; a second, lower limit here would only break large pages.
        'grpc.max_receive_message_length': -1,
        'grpc.primary_user_agent': 'roomgate-grpc-web-bridge',
      });
    this.unaryClient = client();
    this.streamClient = client();
  }

  /**
   * Starts the call of `method` with one request message. Every RPC is
   * started as a server stream, which is how a unary call looks on the wire
   * too (one message each way), so both kinds take one path. The stream
   * emits 'metadata', 'data' (Buffers) and one 'status'. Throws once
   * {@link close}d. `clientAddress` is the browser's address as the HTTP
   * listener decided it (behind trusted proxies, from X-Forwarded-For): the
   * server counts the call's per-client limits under it.
   */
  call(method: ServedMethod, message: Buffer, metadata: Metadata, deadline: Date | undefined, clientAddress: string | undefined): ClientReadableStream<Buffer> {
    if (this.closed) throw new Error('the gRPC-Web bridge is closed');
    // Set, never added: nothing the browser sent may stand in for either.
    metadata.remove(CLIENT_ADDRESS_HEADER);
    if (clientAddress !== undefined) metadata.set(CLIENT_ADDRESS_HEADER, clientAddress);
    metadata.set(BRIDGE_KEY_HEADER, this.key);
    const client = method.responseStream ? this.streamClient : this.unaryClient;
    const call = client.makeServerStreamRequest(method.path, passThrough, passThrough, message, metadata, deadline ? { deadline } : {});
    // grpc-js emits 'error' for a non-OK status as well as 'status'; the bridge reads 'status' only.
    call.on('error', () => undefined);
    this.calls.add(call);
    call.once('status', () => this.calls.delete(call));
    return call;
  }

  /** Calls in flight (for tests and shutdown). */
  get size(): number {
    return this.calls.size;
  }

  /** Cancels the calls still open and closes the channel. */
  close(): void {
    this.closed = true;
    for (const call of this.calls) call.cancel();
    this.unaryClient.close();
    this.streamClient.close();
  }
}
