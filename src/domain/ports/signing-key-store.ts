import type { SigningKeyRecord } from '../records.js';

/** A freshly generated signing key, before the store schedules it. */
export type NewSigningKey = Pick<SigningKeyRecord, 'kid' | 'algorithm' | 'publicJwk' | 'privateKeyEncrypted'>;

/** The times of one rotation, all from the caller's clock. */
export interface RotationSchedule {
  now: Date;
  /** When the new key starts signing. */
  activateAt: Date;
  /** When the keys it replaces stop verifying. */
  retirePreviousAt: Date;
}

/**
 * Signing keys shared by every instance. Every time is passed in from the
 * domain's clock and stored, so all instances judge a key's state alike.
 */
export interface SigningKeyStore {
  /** Keys not retired at `now`, newest activation first. */
  listUsable(now: Date): Promise<SigningKeyRecord[]>;
  /**
   * Stores `candidate`, active from `now`, unless an unretired key already
   * exists, atomically across instances; returns the usable keys afterwards.
   */
  ensureActive(candidate: NewSigningKey, now: Date): Promise<SigningKeyRecord[]>;
  /**
   * Atomically across instances: refuses with ERR_ROTATION_PENDING while a key
   * activating after `now` exists; otherwise sets every unretired key to retire
   * at `retirePreviousAt`, stores `candidate` active from `activateAt`, and
   * tells the other instances. Returns the usable keys afterwards.
   */
  rotate(candidate: NewSigningKey, schedule: RotationSchedule): Promise<SigningKeyRecord[]>;
}
