// The reference media-server adapter: run with `npm start` (see README.md).
import { readFileSync } from 'node:fs';
import { credentials } from '@grpc/grpc-js';
import { createRoomgateClient } from '@roomgate/client';
import { PeerTokenVerifier } from '@roomgate/client/verifier';
import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { SignallingServer } from './signalling-server.js';
import { StatusReporter } from './status-reporter.js';
import { TokenGate } from './token-gate.js';

/** roomgate's own tolerance on exp and nbf. */
const CLOCK_TOLERANCE_SECONDS = 5;

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
  clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
  feed: {
    address: config.grpcAddress,
    token: config.verifyToken,
    credentials: grpcCredentials,
    ...(config.feedHeartbeatSeconds === undefined ? {} : { heartbeatIntervalSeconds: config.feedHeartbeatSeconds }),
  },
  stale: config.failClosedAfterSeconds === undefined ? 'fail-open' : { failClosedAfterSeconds: config.failClosedAfterSeconds },
});
// create() resolves once the feed's starting point is fixed: revocations
// from here on reach the verifier, earlier ones are the gate's to ask about.
const feedStartedAtMs = Date.now();
const client = createRoomgateClient(config.grpcAddress, { token: config.verifyToken, credentials: grpcCredentials });
const gate = new TokenGate({
  verifier,
  client,
  log,
  feedStartedAtMs,
  clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
  failClosed: config.failClosedAfterSeconds !== undefined,
});
const reporter = new StatusReporter(client, log);
const server = new SignallingServer({
  verifier,
  gate,
  reporter,
  log,
  failClosedAfterSeconds: config.failClosedAfterSeconds,
  maxConnections: config.maxConnections,
  pingIntervalSeconds: config.pingIntervalSeconds,
});
// One line per change of the feed's state, for operators: connected or
// not, and stale (results marked stale, joins refused once fail-closed).
let feedState = '';
const feedWatch = setInterval(() => {
  const { connected, stale, lastEventAgeMs } = verifier.freshness();
  const state = `${connected}/${stale}`;
  if (state === feedState) return;
  feedState = state;
  log(stale ? 'warn' : 'info', 'revocation feed', { connected, stale, lastEventAgeMs });
}, 1_000);
feedWatch.unref();
const port = await server.listen(config.listenHost, config.listenPort);
log('info', 'listening', { host: config.listenHost, port, environment: config.environment });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('info', 'shutting down', { signal, connected: server.connectedCount });
  clearInterval(feedWatch);
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
