// A bench worker: the bare grpc-js echo server, in a process of its own like
// roomgate's, so the echo baseline and roomgate pay the same process costs.
import { serveEcho } from './lib/echo-service.js';
import { serveRequests } from './lib/worker-ipc.js';

const { server, port } = await serveEcho();
serveRequests({
  port: async () => port,
  close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
});
