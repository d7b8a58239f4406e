// A TCP proxy in front of a roomgate's gRPC port that a test can cut (every
// open connection destroyed, new ones refused) and restore, or point at
// another port (a restarted roomgate), while clients keep one address.
import net from 'node:net';

/** A proxy on 127.0.0.1 whose address stays while its target and state change. */
export interface CuttableProxy {
  address: string;
  /** Destroys the open connections and refuses new ones until {@link restore}. */
  cut(): void;
  restore(): void;
  /** New connections go to 127.0.0.1:`port`. */
  retarget(port: number): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1:0 to 127.0.0.1:`port`. */
export async function cuttableProxy(port: number): Promise<CuttableProxy> {
  let target = port;
  let down = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (down) return void client.destroy();
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const destroyAll = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut: () => {
      down = true;
      destroyAll();
    },
    restore: () => {
      down = false;
    },
    retarget: (next) => {
      target = next;
    },
    close: () => {
      destroyAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
