// WatchEvents streams held open for the whole soak, as a backend that mirrors
// room state would hold them. Long-lived streams are where a server leaks
// (listeners, buffers, subscriptions), so the soak keeps some open and checks
// that they keep delivering. A stream that ends is an error of the soak; it
// is reopened from its last cursor, as a client would resume.
import { status, type ClientReadableStream, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { EventServiceClient, type WatchEventsResponse } from '../../src/gen/roomgate/v1/event_service.js';
import { insecure } from './grpc-call.js';

/** What the streams did between two {@link EventWatchers.takeInterval} calls. */
export interface StreamStats {
  /** Events received, all streams together. */
  events: number;
  /** Streams that ended on their own (an error of the soak), each reopened. */
  failures: number;
  firstFailure: string | undefined;
}

interface Watcher {
  call: ClientReadableStream<WatchEventsResponse> | undefined;
  cursor: string;
}

/** How long a client waits before it resumes an ended stream. */
const RESUME_AFTER_MS = 1_000;

/** `count` WatchEvents streams of the environment's events, all types. */
export class EventWatchers {
  private readonly client: EventServiceClient;
  private readonly watchers: Watcher[] = [];
  private stats: StreamStats = { events: 0, failures: 0, firstFailure: undefined };
  private stopping = false;

  constructor(
    address: string,
    private readonly auth: Metadata,
    count: number,
  ) {
    this.client = new EventServiceClient(address, insecure);
    for (let i = 0; i < count; i++) this.watchers.push({ call: undefined, cursor: '' });
  }

  /** Opens every stream; resolves once each has its headers, so that every event from then on reaches it. */
  async start(): Promise<void> {
    await Promise.all(this.watchers.map((w) => this.open(w)));
  }

  private open(w: Watcher): Promise<void> {
    const call = this.client.watchEvents({ afterCursor: w.cursor, roomId: '', types: [], heartbeatIntervalSeconds: 0 }, this.auth.clone());
    w.call = call;
    call.on('data', (r: WatchEventsResponse) => {
      this.stats.events++;
      if (r.event) w.cursor = r.event.cursor;
    });
    const ended = (why: string) => {
      this.stats.failures++;
      this.stats.firstFailure ??= `WatchEvents: ${why}`;
      if (!this.stopping) setTimeout(() => void this.open(w), RESUME_AFTER_MS);
    };
    call.on('error', (err: ServiceError) => {
      if (!(this.stopping && err.code === status.CANCELLED)) ended(`${err.code} ${err.details}`);
    });
    // Non-OK statuses come as 'error'; an OK one means the server closed a stream that should never end.
    call.on('status', (s: { code: number }) => {
      if (s.code === status.OK) ended('the server ended the stream');
    });
    return new Promise((resolve) => {
      call.once('metadata', () => resolve());
      call.once('error', () => resolve());
    });
  }

  /** The figures since the last call, and a new interval. */
  takeInterval(): StreamStats {
    const stats = this.stats;
    this.stats = { events: 0, failures: 0, firstFailure: undefined };
    return stats;
  }

  /** Cancels every stream and closes the channel. */
  stop(): void {
    this.stopping = true;
    for (const w of this.watchers) w.call?.cancel();
    this.client.close();
  }
}
