/** Stores the latest use of each token, given by id; one statement for the whole batch. */
export type LastUsedWriter = (entries: Map<string, Date>) => Promise<void>;

/** Options for {@link LastUsedTracker}. */
export interface LastUsedTrackerOptions {
  write: LastUsedWriter;
  /** Told of a failed write, whose entries are kept for the next one. Must not throw. */
  onError: (err: unknown) => void;
  /** Least time between two writes; 60 s by default. */
  intervalMs?: number;
}

/**
 * Keeps when each token was last used in memory and writes it at most once
 * per interval, so authenticating a call costs no database write. Writes never
 * overlap, and stop() writes what is left.
 */
export class LastUsedTracker {
  private pending = new Map<string, Date>();
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly intervalMs: number;

  constructor(private readonly options: LastUsedTrackerOptions) {
    this.intervalMs = options.intervalMs ?? 60_000;
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${this.intervalMs}`);
  }

  /** Records that `tokenId` was used at `at`; an earlier time than one already recorded is ignored. */
  touch(tokenId: string, at: Date): void {
    if (this.stopped) return;
    this.record(tokenId, at);
    this.schedule();
  }

  /** Stops the timer, waits for a write in flight, and writes what is left once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing) await this.writing;
    await this.flush();
  }

  private record(tokenId: string, at: Date): void {
    const known = this.pending.get(tokenId);
    if (!known || known < at) this.pending.set(tokenId, at);
  }

  // The timer starts at the first touch after a write, so an idle instance
  // has no timer and two writes are always at least one interval apart.
  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.intervalMs);
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    if (this.writing || this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.writing = this.write(batch);
    await this.writing;
    this.writing = undefined;
    if (this.pending.size > 0) this.schedule();
  }

  private async write(batch: Map<string, Date>): Promise<void> {
    try {
      await this.options.write(batch);
    } catch (err) {
      for (const [tokenId, at] of batch) this.record(tokenId, at);
      this.options.onError(err);
    }
  }
}
