// Run by test/integration/webhook-timeout-gc.test.ts as
//   node --expose-gc test/support/relay-timeout-gc.mjs <timeoutMs> [http|signal-only]
// against the built relay in dist/. It sends one delivery to a TCP tarpit while
// forcing garbage collection every few milliseconds, and prints one JSON line:
// how long the attempt took, how it was recorded, and what
// roomgate_webhook_attempts_total counted. A child process, not a Vitest
// worker, so that gc() is real and nothing else in the process (Vitest's own
// timers and handles) keeps the attempt's signals reachable by accident.
// With `http` (the default) the relay sends with postWebhook, which has
// timers of its own; with `signal-only` it sends with a sender that connects
// to the tarpit and ends only when the attempt's signal aborts, so the relay's
// own deadline is all that can end it.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { pino } from 'pino';
import { systemClock } from '../../dist/src/domain/clock.js';
import { KeyEncryptor } from '../../dist/src/domain/key-encryption.js';
import { UrlGuard } from '../../dist/src/domain/url-guard.js';
import { WebhookRelay } from '../../dist/src/relay/webhook-relay.js';
import { RoomgateMetrics } from '../../dist/src/transport/metrics.js';
import { startTarpit } from './tarpit.mjs';

if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
const timeoutMs = Number(process.argv[2] ?? 500);
const mode = process.argv[3] ?? 'http';
// The script gives up on its own after this long, so a relay that never times
// out shows up as "recorded: null" rather than a hung test.
const giveUpMs = timeoutMs * 10 + 2_000;

const tarpit = await startTarpit();
const encryptor = new KeyEncryptor(randomBytes(32));
const endpointId = '0f0e0d0c-0000-4000-8000-000000000001';
const now = new Date();
const claim = {
  eventId: '0f0e0d0c-0000-4000-8000-0000000000e1',
  endpointId,
  attempts: 1,
  leaseUntil: new Date(now.getTime() + timeoutMs + 5_000),
  url: tarpit.url('/hook'),
  secretEncrypted: encryptor.encrypt(Buffer.from(`whsec_${randomBytes(24).toString('base64')}`), endpointId),
  previousSecretEncrypted: null,
  previousSecretExpiresAt: null,
  event: {
    id: '0f0e0d0c-0000-4000-8000-0000000000e1', txid: '1', position: '1', environment: 'sandbox',
    roomId: '0f0e0d0c-0000-4000-8000-0000000000aa', roomSeq: '1', createdAt: now,
    payload: { type: 'room_deleted', roomId: '0f0e0d0c-0000-4000-8000-0000000000aa' },
  },
};

let recorded;
let onRecorded;
const done = new Promise((resolve) => (onRecorded = resolve));
let handedOut = false;
const queue = {
  async claimDue() {
    if (handedOut) return [];
    handedOut = true;
    return [claim];
  },
  async record(_claim, outcome) {
    recorded = outcome;
    onRecorded();
  },
};
/** Connects to the tarpit and waits for the signal alone; the socket goes when it aborts. */
const signalOnly = (request) =>
  new Promise((_resolve, reject) => {
    const socket = net.connect(Number(request.url.port), request.addresses[0]);
    socket.on('error', () => undefined);
    request.signal.addEventListener('abort', () => {
      socket.destroy();
      reject(request.signal.reason);
    });
  });
const metrics = new RoomgateMetrics({ totalCount: 0, idleCount: 0, waitingCount: 0 });
const relay = new WebhookRelay(
  {
    queue,
    guard: new UrlGuard(async () => ['127.0.0.1'], { allowPrivateNetworks: true }),
    encryptor,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    body: () => Buffer.from('{}'),
    observer: metrics,
    ...(mode === 'signal-only' && { send: signalOnly }),
  },
  { concurrency: 1, timeoutMs, retryHorizonSeconds: 3600, idlePollMs: 50 },
);

const gcLoop = setInterval(() => globalThis.gc(), 5);
const started = Date.now();
relay.start();
let giveUp;
await Promise.race([done, new Promise((resolve) => (giveUp = setTimeout(resolve, giveUpMs)))]);
const elapsedMs = Date.now() - started;
clearTimeout(giveUp);
clearInterval(gcLoop);
const attempts = (await metrics.registry.getSingleMetric('roomgate_webhook_attempts_total').get()).values;
const count = (result) => attempts.find((v) => v.labels.result === result)?.value ?? 0;
process.stdout.write(
  `${JSON.stringify({
    elapsedMs,
    recorded: recorded ?? null,
    tarpitConnections: tarpit.accepted(),
    metric: { timeout: count('timeout'), network_error: count('network_error'), relay_stopped: count('relay_stopped') },
  })}\n`,
);
// Stopping aborts whatever is still in flight; the tarpit then drops its sockets.
await relay.stop(0);
await tarpit.close();
process.exit(0);
