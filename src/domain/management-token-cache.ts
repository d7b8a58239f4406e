import type { ManagementTokenRecord } from './records.js';
import { ReadThroughCache, type CacheOptions } from './read-through-cache.js';
import type { ManagementTokenLookup } from './ports/index.js';

/**
 * Management tokens by hash, answered from memory. Only tokens that exist are
 * cached. A cached record stays right until its row changes: expiry and a
 * revocation with a grace period are times in the record, which the caller
 * compares with its clock. Any change to the row (revocation, scopes) must call
 * {@link ManagementTokenCache.invalidateToken} after the commit on this
 * instance, and through the notification listener on every other one. The
 * record's `lastUsedAt` is as old as the entry.
 */
export class ManagementTokenCache implements ManagementTokenLookup {
  private readonly cache: ReadThroughCache<ManagementTokenRecord>;

  constructor(
    private readonly source: ManagementTokenLookup,
    options: CacheOptions,
  ) {
    this.cache = new ReadThroughCache(options);
  }

  /** The token with this SHA-256 hash, from memory when this instance has seen it since its last change. */
  findByHash(hash: Buffer): Promise<ManagementTokenRecord | undefined> {
    return this.cache.get(
      hash.toString('base64'),
      () => this.source.findByHash(hash),
      (record) => [`mtoken:${record.id}`],
    );
  }

  /** Forgets the token: its row changed. */
  invalidateToken(id: string): void {
    this.cache.invalidate(`mtoken:${id}`);
  }

  /** Forgets everything: invalidations may have been missed. */
  flush(): void {
    this.cache.flush();
  }
}
