// A TCP proxy in front of a roomgate that can stop passing the server's bytes
// on, as a consumer that stops reading does on the wire. A grpc-js client
// that merely stops reading is no test: Node's HTTP/2 acknowledges data as it
// arrives, so the client process buffers it all and the server never waits.
import net from 'node:net';
import { credentials } from '@grpc/grpc-js';
import { EventServiceClient } from '../../src/gen/roomgate/v1/event_service.js';

/** A proxy to one roomgate port, and an EventService client that dials through it. */
export interface StallingProxy {
  client: EventServiceClient;
  /** Stops passing the server's bytes to the client, on open connections and new ones. */
  stall(): void;
  /** Passes them on again. */
  flow(): void;
  close(): void;
}

/** Starts a proxy on 127.0.0.1:0 to roomgate's gRPC port on 127.0.0.1:`port`. */
export async function stallingProxy(port: number): Promise<StallingProxy> {
  const pairs: { down: net.Socket; up: net.Socket }[] = [];
  let stalled = false;
  const proxy = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    down.pipe(up);
    if (!stalled) up.pipe(down);
    else up.pause();
    for (const s of [up, down]) s.on('error', () => undefined);
    pairs.push({ down, up });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const client = new EventServiceClient(`127.0.0.1:${(proxy.address() as net.AddressInfo).port}`, credentials.createInsecure());
  return {
    client,
    stall: () => {
      stalled = true;
      for (const { up, down } of pairs) {
        up.unpipe(down);
        up.pause();
      }
    },
    flow: () => {
      stalled = false;
      for (const { up, down } of pairs) up.pipe(down);
    },
    close: () => {
      client.close();
      for (const { up, down } of pairs) {
        up.destroy();
        down.destroy();
      }
      proxy.close();
    },
  };
}
