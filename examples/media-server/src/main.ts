// The reference media-server adapter: run with `npm start` (see README.md).
import { readFileSync } from 'node:fs';
import { credentials } from '@grpc/grpc-js';
import { createRoomgateClient } from '@roomgate/client';
import { PeerTokenVerifier } from '@roomgate/client/verifier';
import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { SignallingServer } from './signalling-server.js';
import { StatusReporter } from './status-reporter.js';

const config = (() => {
  try {
    return loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`media-server: ${(err as Error).message}\n`);
    process.exit(2);
  }
})();
const log = createLogger(config.logLevel);
const grpcCredentials = config.grpcCaFile ? credentials.createSsl(readFileSync(config.grpcCaFile)) : credentials.createInsecure();

const verifier = await PeerTokenVerifier.create({
  jwksUrl: config.jwksUrl,
  issuer: config.issuer,
  environment: config.environment,
  feed: {
    address: config.grpcAddress,
    token: config.verifyToken,
    credentials: grpcCredentials,
    ...(config.feedHeartbeatSeconds === undefined ? {} : { heartbeatIntervalSeconds: config.feedHeartbeatSeconds }),
  },
  stale: config.failClosedAfterSeconds === undefined ? 'fail-open' : { failClosedAfterSeconds: config.failClosedAfterSeconds },
});
const client = createRoomgateClient(config.grpcAddress, { token: config.verifyToken, credentials: grpcCredentials });
const reporter = new StatusReporter(client, log);
const server = new SignallingServer({
  verifier,
  reporter,
  log,
  maxConnections: config.maxConnections,
  pingIntervalSeconds: config.pingIntervalSeconds,
});
const port = await server.listen(config.listenHost, config.listenPort);
log('info', 'listening', { host: config.listenHost, port, environment: config.environment });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('info', 'shutting down', { signal, connected: server.connectedCount });
  await server.close();
  // The DISCONNECTED reports of the sockets just closed.
  await reporter.drain(10_000);
  await verifier.close();
  client.close();
  log('info', 'stopped');
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void shutdown(signal).then(() => process.exit(0)));
}
