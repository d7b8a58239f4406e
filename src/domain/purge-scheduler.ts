import type { CacheInvalidator } from './cache-invalidator.js';
import { ENVIRONMENTS } from './principal.js';
import type { AuditRetentionStore, JoinCodePurgeStore, JoinRateLimitStore, PurgeStore, PurgeVictim } from './ports/index.js';

/** Options of {@link PurgeScheduler}. */
export interface PurgeSchedulerOptions {
  /** Time between the end of one run and the start of the next. */
  intervalMs: number;
  /** Most victims of each kind per run, so one run cannot hold on for long; 100 by default. */
  maxPerRun?: number;
  /** How long a request_id is remembered; older keys are deleted by the runs. */
  idempotencyKeyTtlSeconds: number;
  /** How long events are kept; older ones are deleted by the runs, unless a pending webhook delivery still needs them. */
  eventRetentionSeconds: number;
  /** Audit retention: records older than `retentionSeconds` are pruned from each chain's start; none when unset. */
  audit?: { store: AuditRetentionStore; retentionSeconds: number };
  /** RedeemJoinCode's rate limit buckets: those whose window of `windowSeconds` has ended are deleted; none when unset. */
  joinRateLimits?: { store: Pick<JoinRateLimitStore, 'purgeStale'>; windowSeconds: number };
  /** Join codes dead (expired, revoked or used up) for longer than `retentionSeconds` are deleted; none when unset. */
  joinCodes?: { store: JoinCodePurgeStore; retentionSeconds: number };
  /** Told of each deletion. Must not throw. */
  onPurged?: (victim: PurgeVictim) => void;
  /** Told of a failed run; the next run tries again. Must not throw. */
  onError: (err: unknown) => void;
}

/**
 * Runs the room timeouts (Fishjam's peerlessPurgeTimeout and peerDisconnectedTimeout),
 * ban expiry, request_id expiry, event retention, audit retention and the
 * retention of dead join codes on a timer.
 */
export class PurgeScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private readonly maxPerRun: number;

  constructor(
    private readonly store: PurgeStore,
    private readonly invalidate: CacheInvalidator,
    private readonly options: PurgeSchedulerOptions,
  ) {
    this.maxPerRun = options.maxPerRun ?? 100;
    if (!(options.intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${options.intervalMs}`);
    if (!(options.eventRetentionSeconds > 0)) throw new RangeError(`eventRetentionSeconds must be positive, got ${options.eventRetentionSeconds}`);
    if (options.audit && !(options.audit.retentionSeconds > 0)) {
      throw new RangeError(`audit.retentionSeconds must be positive, got ${options.audit.retentionSeconds}`);
    }
  }

  /** Starts the timer; the first run comes after one interval. */
  start(): void {
    if (this.timer || this.running) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops the timer and waits for a run in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /**
   * One run: deletes expired peers, then expired rooms, then expired bans,
   * then expired request_id keys, then events, audit records and dead join
   * codes past their retention, then ended join rate limit windows; returns
   * how many of each.
   */
  async runOnce(): Promise<{
    peers: number;
    rooms: number;
    bans: number;
    idempotencyKeys: number;
    events: number;
    auditEvents: number;
    joinRateLimits: number;
    joinCodes: number;
  }> {
    const peers = await this.drain(() => this.store.purgeDisconnectedPeer());
    const rooms = await this.drain(() => this.store.purgePeerlessRoom());
    // An expired ban already applies no more (checks compare expires_at with
    // now()); the sweep only deletes it and tells watchers, so no cache is involved.
    const bans = await this.batches((n) => this.store.expireBans(n));
    const idempotencyKeys = await this.batches((n) => this.store.expireIdempotencyKeys(this.options.idempotencyKeyTtlSeconds, n));
    const events = await this.batches((n) => this.store.pruneEvents(this.options.eventRetentionSeconds, n));
    let auditEvents = 0;
    const audit = this.options.audit;
    if (audit) {
      for (const environment of ENVIRONMENTS) {
        auditEvents += await this.batches((n) => audit.store.pruneAuditEvents(environment, audit.retentionSeconds, n));
      }
    }
    const codes = this.options.joinCodes;
    const joinCodes = codes ? await this.batches((n) => codes.store.purgeDeadJoinCodes(codes.retentionSeconds, n)) : 0;
    const limits = this.options.joinRateLimits;
    // Ten times the batch of the others: a guessing campaign leaves one row
    // per code guessed, each a cheap delete by primary key.
    const joinRateLimits = limits ? await this.batches((n) => limits.store.purgeStale(limits.windowSeconds, n), 10) : 0;
    return { peers, rooms, bans, idempotencyKeys, events, auditEvents, joinCodes, joinRateLimits };
  }

  // At most ten batches per run: a backlog drains over a few runs without one
  // long delete holding locks or bloating one transaction.
  private async batches(deleteBatch: (limit: number) => Promise<number>, scale = 1): Promise<number> {
    const batchSize = this.maxPerRun * 10 * scale;
    let total = 0;
    for (let batch = 0; batch < 10 && !this.stopped; batch++) {
      const deleted = await deleteBatch(batchSize);
      total += deleted;
      if (deleted < batchSize) break;
    }
    return total;
  }

  private async drain(purgeOne: () => Promise<PurgeVictim | undefined>): Promise<number> {
    let count = 0;
    while (count < this.maxPerRun && !this.stopped) {
      let victim: PurgeVictim | undefined;
      try {
        victim = await purgeOne();
      } catch (err) {
        // The delete may have committed before the error (a lost connection
        // after COMMIT), and which victim it was is unknown: forget everything.
        this.invalidate.all();
        throw err;
      }
      if (!victim) break;
      if (victim.kind === 'peer') this.invalidate.peer(victim.peerId);
      else this.invalidate.room(victim.roomId);
      this.options.onPurged?.(victim);
      count++;
    }
    return count;
  }

  // setTimeout after each run rather than setInterval, so runs never overlap.
  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((err: unknown) => this.options.onError(err))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
