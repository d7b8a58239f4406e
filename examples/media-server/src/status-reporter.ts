import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { PeerStatus, type RoomgateClient } from '@roomgate/client';
import type { Logger } from './log.js';

/** What the adapter tells roomgate about a peer's connection. */
export type ReportedStatus = 'connected' | 'disconnected';

// Worth another try: roomgate restarting, overloaded, or too slow this once.
const RETRYABLE = new Set<number>([grpcStatus.UNAVAILABLE, grpcStatus.DEADLINE_EXCEEDED, grpcStatus.RESOURCE_EXHAUSTED, grpcStatus.ABORTED]);
const MAX_ATTEMPTS = 8;
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 8_000;

/**
 * Sends ReportPeerStatus for each connect and disconnect, in order per peer
 * (a DISCONNECTED never overtakes its CONNECTED), retrying while roomgate is
 * unreachable (about a minute in all) and giving up on answers that cannot
 * change, such as NOT_FOUND for a peer that was deleted.
 */
export class StatusReporter {
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly client: RoomgateClient,
    private readonly log: Logger,
  ) {}

  /** Queues a report; it never throws, and failures are logged. */
  report(roomId: string, peerId: string, status: ReportedStatus): void {
    const key = `${roomId}/${peerId}`;
    const queued = (this.queues.get(key) ?? Promise.resolve()).then(() => this.send(roomId, peerId, status));
    this.queues.set(key, queued);
    void queued.then(() => {
      if (this.queues.get(key) === queued) this.queues.delete(key);
    });
  }

  /** Waits for the queued reports, or `timeoutMs`, whichever is first. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.queues.values()),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private async send(roomId: string, peerId: string, status: ReportedStatus): Promise<void> {
    const peerStatus = status === 'connected' ? PeerStatus.PEER_STATUS_CONNECTED : PeerStatus.PEER_STATUS_DISCONNECTED;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.peers.reportPeerStatus({ roomId, peerId, status: peerStatus }, { deadlineMs: 5_000 });
        this.log('info', 'status reported', { roomId, peerId, status });
        return;
      } catch (e) {
        const err = e as ServiceError;
        if (err.code === grpcStatus.NOT_FOUND) {
          // Deleted (kicked, banned, room gone): nothing left to report on.
          this.log('info', 'status not reported: peer gone', { roomId, peerId, status });
          return;
        }
        if (!RETRYABLE.has(err.code) || attempt === MAX_ATTEMPTS) {
          this.log('warn', 'status not reported', { roomId, peerId, status, grpcCode: err.code, details: err.details, attempts: attempt });
          return;
        }
        await sleep(Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
