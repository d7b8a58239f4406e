/** Options of a cache in front of a lookup that revocation must reach. */
export interface CacheOptions {
  /** Most entries kept; the least recently used one goes first. */
  maxEntries: number;
  /**
   * Whether invalidations are being delivered (the notification listener is
   * connected). While it is false the cache neither answers nor stores.
   */
  isLive: () => boolean;
}

interface Entry<V> {
  value: V;
  tags: readonly string[];
}

/** What happened to the cache while a read or a write ran. */
interface Tracker {
  /** Tags invalidated while it ran. */
  invalidated: Set<string>;
  flushed: boolean;
}

interface Read<V> extends Tracker {
  promise: Promise<V | undefined>;
}

/**
 * A bounded LRU of positive answers (`undefined` is never stored), each
 * carrying tags it can be invalidated by. A read that was overtaken by an
 * invalidation of one of its result's tags, or by a flush, does not store its
 * result, because it may have read the row before the change committed.
 */
export class ReadThroughCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly keysByTag = new Map<string, Set<string>>();
  private readonly reads = new Set<Tracker>();
  /** Reads that later callers of the same key may share. */
  private readonly joinable = new Map<string, Read<V>>();

  constructor(private readonly options: CacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
    }
  }

  /** The cached answer for `key`, or what `load` returns, stored under `tagsOf(value)` when it is found. */
  get(key: string, load: () => Promise<V | undefined>, tagsOf: (value: V) => readonly string[]): Promise<V | undefined> {
    // Notifications may be getting lost, so nothing cached can be trusted and
    // nothing read now can be invalidated.
    if (!this.options.isLive()) return load();
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return Promise.resolve(hit.value);
    }
    const running = this.joinable.get(key);
    if (running) return running.promise;
    const read: Read<V> = { promise: Promise.resolve(undefined), invalidated: new Set(), flushed: false };
    this.reads.add(read);
    this.joinable.set(key, read);
    read.promise = this.settle(key, read, load, tagsOf);
    return read.promise;
  }

  /**
   * Runs `produce`, a write or read that yields the current value behind
   * `key` (CreatePeer's insert, a read of the peer), and stores that value
   * under the same rule as {@link get}: not if an invalidation of its tags,
   * or a flush, overtook it. Returns what `produce` returned.
   */
  async record<R>(
    key: string,
    produce: () => Promise<R>,
    valueOf: (result: R) => V | undefined,
    tagsOf: (value: V) => readonly string[],
  ): Promise<R> {
    if (!this.options.isLive()) return produce();
    const tracker: Tracker = { invalidated: new Set(), flushed: false };
    this.reads.add(tracker);
    try {
      const result = await produce();
      const value = valueOf(result);
      if (value !== undefined && !tracker.flushed && this.options.isLive()) {
        const tags = tagsOf(value);
        if (!tags.some((tag) => tracker.invalidated.has(tag))) this.store(key, value, tags);
      }
      return result;
    } finally {
      this.reads.delete(tracker);
    }
  }

  /** Drops every entry tagged `tag`, and keeps reads already running from storing such an entry. */
  invalidate(tag: string): void {
    for (const key of this.keysByTag.get(tag) ?? []) this.remove(key);
    for (const read of this.reads) read.invalidated.add(tag);
    // A caller that arrives after the invalidation must not get an answer read before it.
    this.joinable.clear();
  }

  /** Drops everything, and keeps reads already running from storing. */
  flush(): void {
    this.entries.clear();
    this.keysByTag.clear();
    for (const read of this.reads) read.flushed = true;
    this.joinable.clear();
  }

  private async settle(
    key: string,
    read: Read<V>,
    load: () => Promise<V | undefined>,
    tagsOf: (value: V) => readonly string[],
  ): Promise<V | undefined> {
    try {
      const value = await load();
      if (value !== undefined && !read.flushed && this.options.isLive()) {
        const tags = tagsOf(value);
        if (!tags.some((tag) => read.invalidated.has(tag))) this.store(key, value, tags);
      }
      return value;
    } finally {
      this.reads.delete(read);
      if (this.joinable.get(key) === read) this.joinable.delete(key);
    }
  }

  private store(key: string, value: V, tags: readonly string[]): void {
    this.remove(key);
    this.entries.set(key, { value, tags });
    for (const tag of tags) {
      const keys = this.keysByTag.get(tag);
      if (keys) keys.add(key);
      else this.keysByTag.set(tag, new Set([key]));
    }
    if (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.remove(oldest.value);
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    for (const tag of entry.tags) {
      const keys = this.keysByTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.keysByTag.delete(tag);
    }
  }
}
