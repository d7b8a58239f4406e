/** Why {@link StreamSlots.take} refused: the client address's cap, or the server's. */
export type StreamLimit = 'per_address' | 'per_server';

/**
 * Counts the bridged streams open per client address and in all, and refuses
 * one more past either cap. Unary calls are short and the listener's rate
 * limit bounds them; a stream holds a connection and a server-side watch for
 * as long as the client likes, so its count is what needs a cap. The total
 * matters because every bridged stream shares one HTTP/2 connection to the
 * gRPC server, whose concurrent-stream limit would otherwise queue the next
 * one silently instead of refusing it.
 */
export class StreamSlots {
  private readonly open = new Map<string, number>();
  private total = 0;

  constructor(
    readonly maxPerKey: number,
    readonly maxTotal: number,
  ) {}

  /** Takes a slot for `key`: a release function (safe to call twice), or which cap is reached. */
  take(key: string): (() => void) | StreamLimit {
    const count = this.open.get(key) ?? 0;
    if (count >= this.maxPerKey) return 'per_address';
    if (this.total >= this.maxTotal) return 'per_server';
    this.open.set(key, count + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
  }

  /** Streams open for `key`. */
  count(key: string): number {
    return this.open.get(key) ?? 0;
  }

  /** Streams open in all. */
  get size(): number {
    return this.total;
  }
}
