/**
 * Counts the bridged streams each client address holds open, and refuses
 * one more past `max`. Unary calls are short and the listener's rate limit
 * bounds them; a stream holds a connection and a server-side watch for as
 * long as the client likes, so its count is what needs a cap.
 */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Takes a slot for `key`: a release function (safe to call twice), or undefined when `key` has `max` open. */
  take(key: string): (() => void) | undefined {
    const count = this.open.get(key) ?? 0;
    if (count >= this.max) return undefined;
    this.open.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
  }

  /** Streams open for `key`. */
  count(key: string): number {
    return this.open.get(key) ?? 0;
  }
}
