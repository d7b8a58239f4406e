import { ENVIRONMENTS, type Environment } from './principal.js';

interface Waiter {
  environment: Environment;
  since: number;
  wake: () => void;
}

/**
 * Tells event readers that an environment may have new events: one instance
 * per process, woken by the events channel's notifications. A wake is only a
 * hint; readers also poll, because a notification can be lost (listener
 * reconnect) and an event can become readable without one (when an older
 * transaction ends, see EventStreamStore.readAfter).
 */
export class EventNotifier {
  private readonly versions = new Map<Environment, number>(ENVIRONMENTS.map((e) => [e, 0]));
  private readonly waiters = new Set<Waiter>();

  /**
   * A counter that changes with every wake of `environment`. Read it before
   * reading events and pass it to {@link wait}, so that a wake arriving during
   * the read is not missed.
   */
  version(environment: Environment): number {
    return this.versions.get(environment) ?? 0;
  }

  /** Wakes the readers of `environment`, a notification's payload; anything else (or nothing) wakes them all. */
  wake(environment?: string): void {
    const woken = ENVIRONMENTS.filter((e) => environment === undefined || e === environment);
    for (const e of woken.length > 0 ? woken : ENVIRONMENTS) this.versions.set(e, this.version(e) + 1);
    for (const waiter of this.waiters) {
      if (this.version(waiter.environment) !== waiter.since) waiter.wake();
    }
  }

  /**
   * Resolves once {@link version} of `environment` differs from `since`, after
   * `timeoutMs`, or when `signal` aborts, whichever comes first. Never rejects.
   */
  wait(environment: Environment, since: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.version(environment) !== since || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = { environment, since, wake: () => done() };
      const timer = setTimeout(() => done(), timeoutMs);
      // Streams end on their own when the process stops; a poll never holds it open.
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(waiter);
    });
  }
}
