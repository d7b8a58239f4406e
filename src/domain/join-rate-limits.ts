import { BlockedBuckets } from './blocked-buckets.js';
import type { Clock } from './clock.js';
import { DomainError } from './errors.js';
import type { JoinRateLimiter, JoinRateLimitStore } from './ports/index.js';

/** The RedeemJoinCode limits (docs/join-codes.md, "Rate limits"). */
export interface JoinRateLimitSettings {
  /** Attempts one client address (an IPv4 address or an IPv6 /64) may make per window. */
  perAddress: number;
  /** Attempts all clients together may make at one code per window. */
  perCode: number;
  /** The window's length, in seconds. */
  windowSeconds: number;
  /** Blocked buckets one instance remembers, so that their attempts cost no database write. */
  memoCapacity: number;
}

/** Defaults of {@link JoinRateLimitSettings}. */
export const DEFAULT_JOIN_RATE_LIMITS: JoinRateLimitSettings = {
  perAddress: 20,
  perCode: 120,
  windowSeconds: 60,
  memoCapacity: 10_000,
};

/** Which limit refused an attempt. */
export type JoinRateLimit = 'address' | 'code';

/** What {@link JoinRateLimits} reports, for metrics. */
export interface JoinRateLimitObserver {
  /** An attempt was refused by `limit`; `memo` when this instance knew without asking the database. */
  joinRateLimited(limit: JoinRateLimit, memo: boolean): void;
}

/**
 * {@link JoinRateLimiter} over fixed windows counted in Postgres, so that
 * every instance counts into the same buckets. Every attempt counts, whether
 * its code turns out right or wrong: counting only failures would let
 * someone who holds one valid code interleave it with guesses for free, and
 * would need a second write after the look-up. An attempt refused by the
 * address limit is not counted at its code, so one address cannot use up a
 * code's allowance beyond its own.
 */
export class JoinRateLimits implements JoinRateLimiter {
  private readonly blocked: BlockedBuckets;

  constructor(
    private readonly store: JoinRateLimitStore,
    private readonly settings: JoinRateLimitSettings,
    private readonly clock: Clock,
    private readonly observer?: JoinRateLimitObserver,
  ) {
    this.blocked = new BlockedBuckets(settings.memoCapacity);
  }

  /** Buckets this instance remembers as blocked. */
  get memoSize(): number {
    return this.blocked.size;
  }

  async attempt(clientKey: string, codeHash: Buffer): Promise<void> {
    const address = `address:${clientKey}`;
    const code = `code:${codeHash.toString('hex')}`;
    const now = this.clock.now().getTime();
    for (const [bucket, limit] of [[address, 'address'], [code, 'code']] as const) {
      const ms = this.blocked.blockedFor(bucket, now);
      if (ms > 0) throw this.refuse(limit, Math.ceil(ms / 1000), true);
    }
    const { perAddress, perCode, windowSeconds } = this.settings;
    const counts = await this.store.count(address, code, windowSeconds, perAddress);
    if (counts.address.attempts > perAddress) {
      this.blocked.block(address, now + counts.address.retryAfterSeconds * 1000);
      throw this.refuse('address', counts.address.retryAfterSeconds, false);
    }
    if (counts.code && counts.code.attempts > perCode) {
      this.blocked.block(code, now + counts.code.retryAfterSeconds * 1000);
      throw this.refuse('code', counts.code.retryAfterSeconds, false);
    }
  }

  private refuse(limit: JoinRateLimit, retryAfterSeconds: number, memo: boolean): DomainError {
    this.observer?.joinRateLimited(limit, memo);
    const { windowSeconds } = this.settings;
    const max = limit === 'address' ? this.settings.perAddress : this.settings.perCode;
    // Nothing about the code: the same words whether it exists or not.
    const who = limit === 'address' ? 'from your address' : 'at this join code, from all addresses together';
    return new DomainError(
      'ERR_JOIN_RATE_LIMITED',
      `too many join attempts ${who}: the limit is ${max} per ${windowSeconds} s; try again in ${retryAfterSeconds} s`,
      { metadata: { retryAfterSeconds: String(retryAfterSeconds), limit: String(max), windowSeconds: String(windowSeconds), limitedBy: limit } },
    );
  }
}
