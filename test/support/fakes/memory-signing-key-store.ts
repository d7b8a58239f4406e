// An in-memory SigningKeyStore for unit tests of token logic only. Integration
// tests never use it: they run on real Postgres through src/store, whose
// advisory lock the single-threaded event loop stands in for here. Isolation:
// each test builds its own instance; several key rings given the same
// instance behave like roomgate processes sharing one database.
import { DomainError } from '../../../src/domain/errors.js';
import type { SigningKeyRecord } from '../../../src/domain/records.js';
import type { NewSigningKey, RotationSchedule, SigningKeyStore } from '../../../src/domain/ports/index.js';

/** Holds signing keys in an array. */
export class MemorySigningKeyStore implements SigningKeyStore {
  readonly records: SigningKeyRecord[] = [];
  /** The key ids every rotation announced, in order (what Postgres NOTIFY would carry). */
  readonly notified: string[] = [];

  async listUsable(now: Date): Promise<SigningKeyRecord[]> {
    return this.records
      .filter((r) => !r.retiredAt || r.retiredAt > now)
      .sort((a, b) => b.activatedAt.getTime() - a.activatedAt.getTime() || b.createdAt.getTime() - a.createdAt.getTime());
  }

  async ensureActive(candidate: NewSigningKey, now: Date): Promise<SigningKeyRecord[]> {
    if (!this.records.some((r) => !r.retiredAt)) {
      this.records.push({ ...candidate, createdAt: now, activatedAt: now, retiredAt: null });
    }
    return this.listUsable(now);
  }

  async rotate(candidate: NewSigningKey, { now, activateAt, retirePreviousAt }: RotationSchedule): Promise<SigningKeyRecord[]> {
    const pending = this.records.find((r) => r.activatedAt > now && (!r.retiredAt || r.retiredAt > now));
    if (pending) throw new DomainError('ERR_ROTATION_PENDING', `signing key ${pending.kid} has not started signing yet`);
    for (const r of this.records) r.retiredAt ??= retirePreviousAt;
    this.records.push({ ...candidate, createdAt: now, activatedAt: activateAt, retiredAt: null });
    this.notified.push(candidate.kid);
    return this.listUsable(now);
  }
}
