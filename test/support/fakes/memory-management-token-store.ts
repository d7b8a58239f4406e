// An in-memory ManagementTokenStore for unit tests. Isolation: each test
// builds its own instance. It follows src/store/management-token-store.ts:
// only hashes are kept, findByHash does not filter by environment (the
// Authenticator compares it with the token's prefix), a second revocation may
// shorten a grace period but never extend it, and recordUse never moves a
// last-use time backwards. Revocation notices are not modelled.
import { systemClock, type Clock } from '../../../src/domain/clock.js';
import type { Environment } from '../../../src/domain/principal.js';
import type { ManagementTokenRecord } from '../../../src/domain/records.js';
import type { ManagementTokenStore, NewManagementToken } from '../../../src/domain/ports/index.js';
import { pageBySeq } from './memory-room-store.js';

interface TokenRow extends ManagementTokenRecord {
  hash: Buffer;
}

function toRecord({ hash: _hash, ...r }: TokenRow): ManagementTokenRecord {
  return {
    ...r,
    scopes: [...r.scopes],
    createdAt: new Date(r.createdAt),
    lastUsedAt: r.lastUsedAt && new Date(r.lastUsedAt),
    expiresAt: r.expiresAt && new Date(r.expiresAt),
    revokedAt: r.revokedAt && new Date(r.revokedAt),
  };
}

/** {@link ManagementTokenStore} in memory. */
export class MemoryManagementTokenStore implements ManagementTokenStore {
  private readonly rows = new Map<string, TokenRow>();
  private lastSeq = 0n;
  /** How many findByHash calls reached the store. */
  lookups = 0;

  /** `clock` plays the database's now() for created_at. */
  constructor(private readonly clock: Clock = systemClock) {}

  async insert(t: NewManagementToken): Promise<ManagementTokenRecord> {
    // The primary key and UNIQUE (token_hash): pg's 23505 has no domain code
    // for these, so the real store fails with a plain error (INTERNAL) too.
    if (this.rows.has(t.id) || [...this.rows.values()].some((r) => r.hash.equals(t.hash))) {
      throw new Error('duplicate key value violates unique constraint on management_tokens');
    }
    this.lastSeq += 1n;
    const row: TokenRow = {
      id: t.id,
      environment: t.environment,
      name: t.name,
      hint: t.hint,
      scopes: [...t.scopes],
      hash: Buffer.from(t.hash),
      createdAt: this.clock.now(),
      lastUsedAt: null,
      expiresAt: t.expiresAt && new Date(t.expiresAt),
      revokedAt: null,
      seq: this.lastSeq.toString(),
    };
    this.rows.set(row.id, row);
    return toRecord(row);
  }

  async insertIfNone(t: NewManagementToken): Promise<boolean> {
    if (this.rows.size > 0) return false;
    await this.insert(t);
    return true;
  }

  async findByHash(hash: Buffer): Promise<ManagementTokenRecord | undefined> {
    this.lookups += 1;
    const row = [...this.rows.values()].find((r) => r.hash.equals(hash));
    return row && toRecord(row);
  }

  async find(environment: Environment, id: string): Promise<ManagementTokenRecord | undefined> {
    const row = this.rows.get(id);
    return row && row.environment === environment ? toRecord(row) : undefined;
  }

  async list(environment: Environment, afterSeq: string | undefined, limit: number): Promise<ManagementTokenRecord[]> {
    return pageBySeq(this.rows.values(), environment, afterSeq, limit).map(toRecord);
  }

  async revoke(environment: Environment, id: string, at: Date): Promise<ManagementTokenRecord | undefined> {
    const row = this.rows.get(id);
    if (!row || row.environment !== environment) return undefined;
    if (!row.revokedAt || at < row.revokedAt) row.revokedAt = new Date(at);
    return toRecord(row);
  }

  async recordUse(entries: Map<string, Date>): Promise<void> {
    for (const [id, at] of entries) {
      const row = this.rows.get(id);
      if (row && (!row.lastUsedAt || at > row.lastUsedAt)) row.lastUsedAt = new Date(at);
    }
  }

  /**
   * Stores a row as given, bypassing every check: for states the domain never
   * writes itself, such as a hash filed under the wrong environment.
   */
  plant(row: NewManagementToken & { revokedAt?: Date | null }): void {
    this.lastSeq += 1n;
    this.rows.set(row.id, {
      ...row,
      scopes: [...row.scopes],
      createdAt: this.clock.now(),
      lastUsedAt: null,
      revokedAt: row.revokedAt ?? null,
      seq: this.lastSeq.toString(),
    });
  }
}
