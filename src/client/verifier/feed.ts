import { credentials as grpcCredentials, Metadata, status, type ChannelCredentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { retryDelayMs } from '../../domain/backoff.js';
import { EventServiceClient, type WatchEventsResponse } from '../../gen/roomgate/v1/event_service.js';
import type { Event } from '../../gen/roomgate/v1/events.js';

/** Options of {@link RevocationFeed}. */
export interface RevocationFeedOptions {
  address: string;
  /** A management token; scope verify is enough (and the least it needs). */
  token: string;
  credentials?: ChannelCredentials;
  heartbeatIntervalSeconds: number;
  /** Resume after this cursor instead of starting from now. */
  afterCursor?: string;
  now: () => number;
  /** Called with each event received, in stream order. */
  onEvent: (event: Event) => void;
}

/** Reconnect delays: full jitter up to 250 ms, doubling to 5 s. */
const BACKOFF = { baseMs: 250, capMs: 5_000 };

/**
 * The verifier's WatchEvents subscription: empty `types`, which for a token
 * with scope verify is the revocation types, with heartbeats. It resumes
 * from the last cursor it received (an event's or a heartbeat's) after any
 * end of the call, with backoff, so no revocation committed meanwhile is
 * lost; a call that stays silent for three heartbeat intervals is assumed
 * dead (a network that drops packets ends nothing) and replaced.
 */
export class RevocationFeed {
  private readonly client: EventServiceClient;
  private call: ClientReadableStream<WatchEventsResponse> | undefined;
  private cursor: string;
  private connected = false;
  private lastMessageMs: number | undefined;
  /** When the open call was subscribed (ms). */
  private subscribedAtMs = -Infinity;
  private failures = 0;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly watchdog: NodeJS.Timeout;
  private firstSubscription: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** Calls made so far; the last error of each is kept for {@link lastError}. */
  private calls = 0;
  private error: ServiceError | undefined;

  constructor(private readonly options: RevocationFeedOptions) {
    // grpc-js backs reconnects off up to 120 s by default; the feed retries on
    // its own schedule and wants the channel back as soon as roomgate is.
    this.client = new EventServiceClient(options.address, options.credentials ?? grpcCredentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 5_000,
    });
    this.cursor = options.afterCursor ?? '';
    const silentMs = options.heartbeatIntervalSeconds * 3_000 + 2_000;
    this.watchdog = setInterval(() => {
      // Silence counts from the call's subscription at the earliest: a resumed call has not spoken yet.
      const heard = Math.max(this.lastMessageMs ?? -Infinity, this.subscribedAtMs);
      if (this.connected && options.now() - heard > silentMs) this.call?.cancel();
    }, 1_000);
    this.watchdog.unref();
  }

  /** Subscribes; resolves once the server has fixed the starting point, rejects when the first call fails. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.firstSubscription = { resolve, reject };
      this.subscribe();
    });
  }

  /** Whether a call is open and subscribed. */
  isConnected(): boolean {
    return this.connected;
  }

  /** When the last event or heartbeat arrived (or the first subscription, before any), in ms. */
  lastMessageAt(): number | undefined {
    return this.lastMessageMs;
  }

  /** Where the feed would resume: the cursor of the last event or heartbeat received. */
  resumeCursor(): string {
    return this.cursor;
  }

  /** The status the last call ended with, if it ended. */
  lastError(): ServiceError | undefined {
    return this.error;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watchdog);
    clearTimeout(this.retryTimer);
    this.call?.cancel();
    this.client.close();
  }

  private subscribe(): void {
    if (this.closed) return;
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${this.options.token}`);
    const call = this.client.watchEvents(
      { afterCursor: this.cursor, roomId: '', types: [], heartbeatIntervalSeconds: this.options.heartbeatIntervalSeconds },
      metadata,
    );
    this.call = call;
    this.calls++;
    const resuming = this.cursor !== '';
    call.on('metadata', (headers: Metadata) => {
      if (this.call !== call) return;
      // Before any event or heartbeat, the start is where to resume from.
      const start = headers.get('roomgate-start-cursor')[0];
      if (this.cursor === '' && typeof start === 'string') this.cursor = start;
      this.connected = true;
      this.failures = 0;
      this.subscribedAtMs = this.options.now();
      // A stream from now is caught up once its start is fixed: news as good
      // as a heartbeat. A resumed one may still have the outage to replay, so
      // it is fresh again only with its first event or heartbeat.
      if (!resuming) this.lastMessageMs = this.options.now();
      this.firstSubscription?.resolve();
      this.firstSubscription = undefined;
    });
    call.on('data', (message: WatchEventsResponse) => {
      if (this.call !== call) return;
      this.lastMessageMs = this.options.now();
      if (message.event) {
        this.options.onEvent(message.event);
        this.cursor = message.event.cursor;
      } else if (message.heartbeat) {
        this.cursor = message.heartbeat.cursor;
      }
    });
    const ended = (err: ServiceError | undefined) => {
      if (this.call !== call) return;
      this.call = undefined;
      this.connected = false;
      this.error = err;
      if (this.closed) return;
      if (this.firstSubscription) {
        this.firstSubscription.reject(new Error(`WatchEvents failed: ${err ? `${status[err.code]}: ${err.details}` : 'ended'}`));
        this.firstSubscription = undefined;
        return;
      }
      // A cursor past the event retention cannot be resumed: start again from now.
      if (err?.code === status.OUT_OF_RANGE) this.cursor = '';
      this.failures++;
      this.retryTimer = setTimeout(() => this.subscribe(), retryDelayMs(this.failures, BACKOFF) + 50);
      this.retryTimer.unref();
    };
    call.on('error', (err: ServiceError) => ended(err));
    call.on('end', () => setImmediate(() => ended(undefined)));
  }
}
