// An in-memory SigningKeyStore for unit tests of token logic only. Integration
// tests never use it: they run on real Postgres through src/store.
import type { SigningKeyRecord } from '../../src/domain/records.js';
import type { SigningKeyStore } from '../../src/domain/stores.js';

/** Holds signing keys in an array. */
export class MemorySigningKeyStore implements SigningKeyStore {
  readonly records: SigningKeyRecord[] = [];

  async listUsable(): Promise<SigningKeyRecord[]> {
    return [...this.records].sort((a, b) => (b.activatedAt?.getTime() ?? 0) - (a.activatedAt?.getTime() ?? 0));
  }

  async ensureActive(candidate: Omit<SigningKeyRecord, 'createdAt' | 'activatedAt'>): Promise<SigningKeyRecord[]> {
    if (!this.records.some((r) => r.activatedAt)) {
      this.records.push({ ...candidate, createdAt: new Date(), activatedAt: new Date() });
    }
    return this.listUsable();
  }
}
