import type { Clock } from './clock.js';
import { invalidArgument } from './errors.js';
import type { Limits } from './limits.js';
import { ensureCan } from './permissions.js';
import type { Principal } from './principal.js';
import type { SigningKeyInfo } from './records.js';
import { describeSigningKeys, type SigningKeyRing } from './signing-keys.js';
import type { SigningKeyStore } from './ports/index.js';

/** The longest pre-publish period a rotation may ask for: 30 days. */
export const MAX_PREPUBLISH_SECONDS = 30 * 86_400;

/** Timing of rotations. */
export interface SigningKeyManagerOptions {
  /** Default seconds a new key is published before it signs. */
  prepublishSeconds: number;
  /** Seconds the replaced key keeps verifying after the new key starts signing. */
  retireAfterSeconds: number;
}

/**
 * The rotation timing configuration implies. The replaced key stays until every
 * token it signed has expired: the last is signed just before the new key
 * activates, lives at most the longest token lifetime, and verifiers accept it
 * for the clock tolerance beyond that.
 */
export function rotationTiming(config: {
  keyPrepublishSeconds: number;
  clockToleranceSeconds: number;
  limits: Pick<Limits, 'maxTokenTtlSeconds'>;
}): SigningKeyManagerOptions {
  return {
    prepublishSeconds: config.keyPrepublishSeconds,
    retireAfterSeconds: config.limits.maxTokenTtlSeconds + config.clockToleranceSeconds,
  };
}

/** Signing-key use cases for admins: rotate and list. */
export class SigningKeyManager {
  constructor(
    private readonly ring: SigningKeyRing,
    private readonly store: SigningKeyStore,
    private readonly clock: Clock,
    private readonly options: SigningKeyManagerOptions,
  ) {}

  /**
   * Publishes a new key that starts signing after `prepublishSeconds` (the
   * configured default when undefined; 0 means at once) and schedules the
   * current key's retirement. ERR_ROTATION_PENDING while an earlier new key
   * has not started signing yet.
   */
  async rotate(principal: Principal, prepublishSeconds?: number): Promise<{ key: SigningKeyInfo; keys: SigningKeyInfo[] }> {
    ensureCan(principal, 'signing-key:manage');
    const prepublish = prepublishSeconds ?? this.options.prepublishSeconds;
    if (!Number.isInteger(prepublish) || prepublish < 0 || prepublish > MAX_PREPUBLISH_SECONDS) {
      throw invalidArgument('prepublish_seconds', `must be between 0 and ${MAX_PREPUBLISH_SECONDS}`);
    }
    const now = this.clock.now();
    const activateAt = new Date(now.getTime() + prepublish * 1000);
    const retirePreviousAt = new Date(activateAt.getTime() + this.options.retireAfterSeconds * 1000);
    const candidate = this.ring.generateKey();
    const keys = describeSigningKeys(await this.store.rotate(candidate, { now, activateAt, retirePreviousAt }), now);
    // The rotation is committed: failing the call now would invite a retry
    // that ERR_ROTATION_PENDING refuses. The periodic reload catches up.
    await this.ring.reload().catch(() => undefined);
    const key = keys.find((k) => k.kid === candidate.kid);
    if (!key) throw new Error(`the new signing key ${candidate.kid} is missing from the key list`);
    return { key, keys };
  }

  /** The published keys (next, current and previous), newest activation first. */
  async list(principal: Principal): Promise<SigningKeyInfo[]> {
    ensureCan(principal, 'signing-key:manage');
    const now = this.clock.now();
    return describeSigningKeys(await this.store.listUsable(now), now);
  }
}
