import { Counter, Gauge, type Registry } from 'prom-client';
import type { JoinRateLimit, JoinRateLimitObserver } from '../domain/join-rate-limits.js';

/** RedeemJoinCode's rate limit metrics (docs/metrics.md), in a {@link RoomgateMetrics} registry. */
export class JoinRateLimitMetrics implements JoinRateLimitObserver {
  private readonly limited: Counter<'limit'>;
  private readonly memoHits: Counter;
  private memoSize: () => number = () => 0;

  constructor(registry: Registry) {
    this.limited = new Counter({
      name: 'roomgate_join_rate_limited_total',
      help: 'RedeemJoinCode attempts refused by a rate limit, by limit: address or code.',
      labelNames: ['limit'] as const,
      registers: [registry],
    });
    for (const limit of ['address', 'code'] as const) this.limited.inc({ limit }, 0);
    this.memoHits = new Counter({
      name: 'roomgate_join_rate_limit_memo_hits_total',
      help: 'Of those, the attempts this instance refused from its memo of blocked buckets, without a database write.',
      registers: [registry],
    });
    const size = () => this.memoSize();
    new Gauge({
      name: 'roomgate_join_rate_limit_memo_entries',
      help: 'Blocked buckets this instance remembers (bounded; expired ones leave when looked up or evicted).',
      registers: [registry],
      collect() {
        this.set(size());
      },
    });
  }

  /** Reads the memo's size from `source` at each scrape. */
  watchMemo(source: { readonly memoSize: number }): void {
    this.memoSize = () => source.memoSize;
  }

  joinRateLimited(limit: JoinRateLimit, memo: boolean): void {
    this.limited.inc({ limit });
    if (memo) this.memoHits.inc();
  }
}
