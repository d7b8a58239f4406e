// A TCP tarpit for webhook tests: it accepts every connection on a loopback
// port and never sends a byte, like a host whose firewall lets the handshake
// through to a process that hangs. Plain JavaScript, so the GC child script
// (relay-timeout-gc.mjs) can use it without a TypeScript loader.
import net from 'node:net';

/**
 * Starts a tarpit on 127.0.0.1. `accepted()` counts the connections so far;
 * `close()` destroys them and stops listening.
 */
export async function startTarpit() {
  const sockets = new Set();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    accepted: () => accepted,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
