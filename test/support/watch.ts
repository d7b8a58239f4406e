// The client's side of one WatchEvents call, for integration tests: what it
// received and how it ended, read through the generated EventService client
// (a test roomgate's `client.eventStream`, or one through a stalling proxy).
import { setTimeout as sleep } from 'node:timers/promises';
import { Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'vitest';
import type { EventServiceClient, WatchEventsRequest } from '../../src/gen/roomgate/v1/event_service.js';
import type { Event } from '../../src/gen/roomgate/v1/events.js';

/** One WatchEvents call and everything it received. */
export class Watch {
  readonly events: Event[] = [];
  error: ServiceError | undefined;
  private readonly call: ClientReadableStream<{ event: Event | undefined }>;
  /** Resolves once the server has fixed the starting point (it sends its headers then). */
  readonly subscribed: Promise<void>;

  /** Calls WatchEvents through `client` with `token` as the bearer token; '' sends none. */
  constructor(client: EventServiceClient, request: Partial<WatchEventsRequest>, token: string) {
    const metadata = new Metadata();
    if (token !== '') metadata.set('authorization', `Bearer ${token}`);
    this.call = client.watchEvents({ afterCursor: '', roomId: '', types: [], heartbeatIntervalSeconds: 0, ...request }, metadata);
    this.subscribed = new Promise((resolve) => this.call.once('metadata', () => resolve()));
    this.call.on('error', (err: ServiceError) => (this.error = err));
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
  async ended(timeoutMs = 10_000): Promise<ServiceError> {
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
