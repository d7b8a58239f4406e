// WatchEvents for integration tests, until roomgate's own server registers
// EventService: a WatchEvents-only gRPC server on 127.0.0.1:0, built with the
// production handler, store, notifier and authenticator on a database the
// caller owns (normally the one startTestRoomgate made for the test file, see
// database.ts), so a test can give it a tiny backlog, or stop it and start
// another on the same data (a restart). Also a client-side view of one call,
// and a TCP proxy that can stall like a consumer that stops reading.
import net from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { expect } from 'vitest';
import { Authenticator } from '../../src/domain/authenticator.js';
import { systemClock } from '../../src/domain/clock.js';
import { NO_LIVENESS_RECORDER } from '../../src/domain/ports/index.js';
import { EventNotifier } from '../../src/domain/event-notifier.js';
import { EventStream } from '../../src/domain/event-stream.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { PeerTokens } from '../../src/domain/peer-token.js';
import { SigningKeyRing } from '../../src/domain/signing-keys.js';
import { TokenManager } from '../../src/domain/token-manager.js';
import { EventServiceClient, EventServiceService, type WatchEventsRequest } from '../../src/gen/roomgate/v1/event_service.js';
import type { Event } from '../../src/gen/roomgate/v1/events.js';
import { PgEventStore } from '../../src/store/event-store.js';
import { PgManagementTokenStore } from '../../src/store/management-token-store.js';
import { NotificationListener } from '../../src/store/notification-listener.js';
import { NOTIFY_CHANNELS } from '../../src/domain/revocation-notice.js';
import { PgPeerStore } from '../../src/store/peer-store.js';
import { PgSigningKeyStore } from '../../src/store/signing-key-store.js';
import { watchEvents } from '../../src/transport/watch-events.js';
import type { TestRoomgate } from './roomgate.js';

/** A WatchEvents-only server on the test database, wired as src/main.ts wires the real one. */
export interface WatchServer {
  port: number;
  client: EventServiceClient;
  logs: string[];
  close(): Promise<void>;
}

/** Serves WatchEvents on `t`'s database with `t`'s configuration (its key-encryption key, issuer and limits). */
export async function serveWatchEvents(
  t: Pick<TestRoomgate, 'db' | 'config'>,
  options: { maxBacklog?: number; stallTimeoutMs?: number } = {},
): Promise<WatchServer> {
  const { pool } = t.db;
  const logs: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  const keys = new SigningKeyRing(new PgSigningKeyStore(pool), new KeyEncryptor(t.config.keyEncryptionKey!), systemClock);
  await keys.init();
  const peerStore = new PgPeerStore(pool);
  const peerTokens = new PeerTokens(keys, systemClock, { issuer: t.config.issuer, clockToleranceSeconds: t.config.clockToleranceSeconds });
  const tokens = new TokenManager(peerTokens, peerStore, { liveness: (e, r, p) => peerStore.liveness(e, r, p), record: NO_LIVENESS_RECORDER.record }, keys, systemClock, t.config.limits);
  const authenticator = new Authenticator(new PgManagementTokenStore(pool), tokens, { touch() {} }, systemClock, t.config.limits);
  const notifier = new EventNotifier();
  const listener = new NotificationListener({ connectionString: t.db.connectionString, channels: [NOTIFY_CHANNELS.events], logger });
  listener.on(NOTIFY_CHANNELS.events, (environment) => notifier.wake(environment));
  listener.onReconnect(() => notifier.wake());
  await listener.start();
  const stopping = new AbortController();
  const server = new grpc.Server();
  server.addService(EventServiceService, {
    watchEvents: watchEvents({
      authenticator,
      logger,
      events: new EventStream(new PgEventStore(pool), notifier),
      maxBacklog: options.maxBacklog ?? 1_000,
      stallTimeoutMs: options.stallTimeoutMs,
      stopping: stopping.signal,
    }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const client = new EventServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    port,
    client,
    logs,
    close: async () => {
      stopping.abort();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      client.close();
      await listener.stop();
      keys.stop();
    },
  };
}

/** One WatchEvents call and everything it received. */
export class Watch {
  readonly events: Event[] = [];
  error: grpc.ServiceError | undefined;
  private readonly call: grpc.ClientReadableStream<{ event: Event | undefined }>;
  /** Resolves once the server has fixed the starting point (it sends its headers then). */
  readonly subscribed: Promise<void>;

  /** Calls WatchEvents with `token` as the bearer token; '' sends none. */
  constructor(via: { client: EventServiceClient }, request: Partial<WatchEventsRequest>, token: string) {
    const metadata = new grpc.Metadata();
    if (token !== '') metadata.set('authorization', `Bearer ${token}`);
    this.call = via.client.watchEvents({ afterCursor: '', roomId: '', types: [], ...request }, metadata);
    this.subscribed = new Promise((resolve) => this.call.once('metadata', () => resolve()));
    this.call.on('error', (err: grpc.ServiceError) => (this.error = err));
    this.call.on('data', (r: { event: Event | undefined }) => this.events.push(r.event!));
  }

  /** The cursor of the last event received; '' before the first. */
  get lastCursor(): string {
    return this.events[this.events.length - 1]?.cursor ?? '';
  }

  /** Waits until `count` events have arrived, or the call has ended. */
  async received(count: number, timeoutMs = 10_000): Promise<Event[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count && !this.error && Date.now() < deadline) await sleep(10);
    expect(this.events.length, `events received (error: ${this.error?.details})`).toBe(count);
    return this.events;
  }

  /** Waits for the call to end with an error status. */
  async ended(timeoutMs = 10_000): Promise<grpc.ServiceError> {
    const deadline = Date.now() + timeoutMs;
    while (!this.error && Date.now() < deadline) await sleep(10);
    expect(this.error, 'the call ended').toBeDefined();
    return this.error!;
  }

  /** Cancels the call from the client side. */
  cancel(): void {
    this.call.cancel();
  }
}

/**
 * A TCP proxy to 127.0.0.1:`port` that can stop passing the server's bytes
 * on, as a consumer that stops reading does on the wire. (A grpc-js client
 * that merely stops reading is no test: Node's HTTP/2 acknowledges data as it
 * arrives, so the client process buffers it all and the server never waits.)
 */
export async function stallingProxy(port: number): Promise<{ client: EventServiceClient; stall(): void; flow(): void; close(): void }> {
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
  const client = new EventServiceClient(`127.0.0.1:${(proxy.address() as net.AddressInfo).port}`, grpc.credentials.createInsecure());
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
