import { DomainError } from './errors.js';
import { ensureCan } from './permissions.js';
import type { Environment, Principal } from './principal.js';

/** Options of {@link WatchRegistry}. */
export interface WatchRegistryOptions {
  /** Streams one token may hold open on this instance. */
  maxPerToken: number;
  /** Streams one environment may hold open on this instance. */
  maxPerEnvironment: number;
  /**
   * How often every open stream's credentials are checked again, for grace
   * periods and expiry, which no notification announces; 500 ms by default.
   */
  recheckIntervalMs?: number;
}

/** Resolves a bearer token again, as at the start of a call; throws ERR_UNAUTHENTICATED when it no longer holds. */
export type Reauthenticate = (authorization: string) => Promise<Principal>;

/** A stream's place in the registry. */
export interface WatchLease {
  /** Frees the place; call once the stream ends (more calls do nothing). */
  release(): void;
  /**
   * The check of the stream's token in progress, if any. A stream waits for
   * it before sending more: after a revocation notice, nothing committed
   * after the revocation goes out before the check has ended the stream.
   */
  checked(): Promise<void> | undefined;
}

interface OpenStream {
  tokenId: string;
  environment: Environment;
  authorization: string;
  end: (err: DomainError) => void;
}

/**
 * The WatchEvents streams open on this instance: admits each within the
 * per-token and per-environment caps, and ends those whose credentials stop
 * holding. A stream authenticates once, but its token may be revoked, reach
 * the end of a revocation's grace period, or expire while it is open; the
 * registry checks again at once when told a token changed (the revocation
 * notice reaches every instance), and every `recheckIntervalMs` for the
 * times in the record. Rechecks go through the authenticator and so its
 * cache: one lookup per distinct token, not per stream.
 */
export class WatchRegistry {
  private readonly streams = new Set<OpenStream>();
  private readonly perToken = new Map<string, number>();
  private readonly perEnvironment = new Map<Environment, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly checking = new Map<string, Promise<void>>();

  constructor(
    private readonly reauthenticate: Reauthenticate,
    private readonly options: WatchRegistryOptions,
  ) {}

  /**
   * Admits a stream of `principal`, who sent `authorization`; `end` is called
   * once with ERR_UNAUTHENTICATED if the credentials stop holding. Returns
   * the stream's {@link WatchLease}. Throws ERR_PERMISSION_DENIED if the
   * principal may not watch, and ERR_WATCH_LIMIT_EXCEEDED naming the cap
   * that is reached.
   */
  open(principal: Principal, authorization: string, end: (err: DomainError) => void): WatchLease {
    ensureCan(principal, 'event:watch');
    const { tokenId, environment } = principal;
    const forToken = this.perToken.get(tokenId) ?? 0;
    const forEnvironment = this.perEnvironment.get(environment) ?? 0;
    if (forToken >= this.options.maxPerToken) {
      throw limit(`this token already has ${forToken} WatchEvents streams open on this server, the most allowed (ROOMGATE_WATCH_MAX_STREAMS_PER_TOKEN)`, 'per_token', this.options.maxPerToken);
    }
    if (forEnvironment >= this.options.maxPerEnvironment) {
      throw limit(`the ${environment} environment already has ${forEnvironment} WatchEvents streams open on this server, the most allowed (ROOMGATE_WATCH_MAX_STREAMS_PER_ENVIRONMENT)`, 'per_environment', this.options.maxPerEnvironment);
    }
    const stream: OpenStream = { tokenId, environment, authorization, end };
    this.streams.add(stream);
    this.perToken.set(tokenId, forToken + 1);
    this.perEnvironment.set(environment, forEnvironment + 1);
    this.startTimer();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.streams.delete(stream);
        decrement(this.perToken, tokenId);
        decrement(this.perEnvironment, environment);
        if (this.streams.size === 0) this.stopTimer();
      },
      checked: () => this.checking.get(tokenId),
    };
  }

  /** Checks the streams of `tokenId` again now, or of every token when undefined (after notices may have been missed). */
  tokenChanged(tokenId?: string): void {
    const tokens = new Set<string>();
    for (const s of this.streams) if (tokenId === undefined || s.tokenId === tokenId) tokens.add(s.tokenId);
    for (const t of tokens) void this.recheck(t);
  }

  /** Stops the periodic check; streams still open are left to end on their own. */
  stop(): void {
    this.stopTimer();
  }

  private recheck(tokenId: string): Promise<void> {
    const first = [...this.streams].find((s) => s.tokenId === tokenId);
    if (!first) return Promise.resolve();
    let check = this.checking.get(tokenId);
    if (!check) {
      check = this.check(tokenId, first.authorization).finally(() => this.checking.delete(tokenId));
      this.checking.set(tokenId, check);
    }
    return check;
  }

  private async check(tokenId: string, authorization: string): Promise<void> {
    try {
      await this.reauthenticate(authorization);
    } catch (err) {
      // Only a definite no ends streams: a database that cannot answer says
      // nothing about the token, and the next check asks again.
      if (err instanceof DomainError && err.code === 'ERR_UNAUTHENTICATED') {
        const ended = new DomainError('ERR_UNAUTHENTICATED', "the stream's credentials were revoked or expired");
        for (const s of [...this.streams]) if (s.tokenId === tokenId) s.end(ended);
      }
    }
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tokenChanged(), this.options.recheckIntervalMs ?? 500);
    // A check never holds the process open.
    this.timer.unref();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function limit(message: string, which: string, max: number): DomainError {
  return new DomainError('ERR_WATCH_LIMIT_EXCEEDED', message, { metadata: { limit: which, max: String(max) } });
}

function decrement<K>(counts: Map<K, number>, key: K): void {
  const n = (counts.get(key) ?? 1) - 1;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}
