/**
 * Lets at most `limit` reads run at once and queues the rest in order, so
 * that streams catching up from old cursors take a bounded share of the
 * database pool however many of them there are.
 */
export class ReadGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Runs `read` once a slot is free; undefined, without running it, when `signal` aborts first. */
  async run<T>(read: () => Promise<T>, signal: AbortSignal): Promise<T | undefined> {
    if (this.running >= this.limit) {
      const admitted = await new Promise<boolean>((resolve) => {
        const turn = () => {
          signal.removeEventListener('abort', aborted);
          resolve(true);
        };
        const aborted = () => {
          const i = this.waiting.indexOf(turn);
          if (i >= 0) this.waiting.splice(i, 1);
          resolve(false);
        };
        this.waiting.push(turn);
        signal.addEventListener('abort', aborted, { once: true });
      });
      if (!admitted) return undefined;
    } else {
      this.running++;
    }
    if (signal.aborted) {
      this.release();
      return undefined;
    }
    try {
      return await read();
    } finally {
      this.release();
    }
  }

  private release(): void {
    // The slot passes straight to the next reader, so the count stays as it is.
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
