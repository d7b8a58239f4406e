import { createPublicKey, type KeyObject } from 'node:crypto';

/** Options of {@link KeySet}. */
export interface KeySetOptions {
  url: string;
  now: () => number;
  /** Used when the response has no Cache-Control max-age; 300 s by default. */
  defaultMaxAgeSeconds?: number;
}

/** How the key set stands, for tests and health pages. */
export interface KeySetStatus {
  kids: string[];
  /** When the keys were last fetched successfully (ms), or confirmed unchanged by a 304. */
  fetchedAtMs: number | undefined;
  /** When the cached keys expire, as the response's max-age said (ms). */
  expiresAtMs: number | undefined;
  /** The last fetch's error, when it failed; the keys fetched before are kept. */
  lastError: Error | undefined;
  fetches: number;
}

/** Fetches on an unknown kid no more often than this. */
const UNKNOWN_KID_INTERVAL_MS = 1_000;
const MIN_MAX_AGE_MS = 1_000;
const MAX_MAX_AGE_MS = 86_400_000;
const RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

/**
 * The signing keys from roomgate's JWKS URL. Cached for the response's
 * Cache-Control max-age and fetched again then (in the background, with the
 * ETag, so an unchanged set is a 304); fetched at once on an unknown kid, at
 * most once a second; kept through a failed fetch, which is retried with
 * backoff. Only Ed25519 keys (OKP, crv Ed25519, alg EdDSA or none, use sig
 * or none) are used.
 */
export class KeySet {
  private keys = new Map<string, KeyObject>();
  private etag: string | undefined;
  private fetchedAtMs: number | undefined;
  private expiresAtMs: number | undefined;
  private lastAttemptMs = -Infinity;
  private lastError: Error | undefined;
  private failures = 0;
  private fetches = 0;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: KeySetOptions) {}

  /** The first fetch; rejects when it fails, since there is nothing to verify with. */
  async load(): Promise<void> {
    await this.refresh();
    if (this.keys.size === 0 && this.lastError) throw this.lastError;
  }

  /** The key for `kid`, if the set has it. */
  get(kid: string): KeyObject | undefined {
    return this.keys.get(kid);
  }

  /**
   * The key for `kid`, fetching the set again first when `kid` is unknown
   * and the last fetch was more than a second ago.
   */
  async resolve(kid: string): Promise<KeyObject | undefined> {
    const key = this.keys.get(kid);
    if (key || this.closed) return key;
    if (!this.inFlight && this.options.now() - this.lastAttemptMs < UNKNOWN_KID_INTERVAL_MS) return undefined;
    await this.refresh();
    return this.keys.get(kid);
  }

  status(): KeySetStatus {
    return {
      kids: [...this.keys.keys()],
      fetchedAtMs: this.fetchedAtMs,
      expiresAtMs: this.expiresAtMs,
      lastError: this.lastError,
      fetches: this.fetches,
    };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** One fetch at a time: callers arriving during a fetch share it. */
  private refresh(): Promise<void> {
    this.inFlight ??= this.fetchOnce().finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
    return this.inFlight;
  }

  private async fetchOnce(): Promise<void> {
    this.lastAttemptMs = this.options.now();
    this.fetches++;
    try {
      const headers: Record<string, string> = { accept: 'application/jwk-set+json, application/json' };
      if (this.etag && this.keys.size > 0) headers['if-none-match'] = this.etag;
      const response = await fetch(this.options.url, { headers, signal: AbortSignal.timeout(10_000) });
      const now = this.options.now();
      if (response.status === 304) {
        await response.body?.cancel();
      } else if (response.ok) {
        this.keys = parseKeySet(await response.json());
        this.etag = response.headers.get('etag') ?? undefined;
      } else {
        await response.body?.cancel();
        throw new Error(`GET ${this.options.url} answered ${response.status}`);
      }
      const maxAgeMs = maxAgeOf(response.headers.get('cache-control')) ?? (this.options.defaultMaxAgeSeconds ?? 300) * 1000;
      this.fetchedAtMs = now;
      this.expiresAtMs = now + Math.min(Math.max(maxAgeMs, MIN_MAX_AGE_MS), MAX_MAX_AGE_MS);
      this.lastError = undefined;
      this.failures = 0;
    } catch (err) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      this.failures++;
    }
  }

  /** The next background fetch: at expiry, or after a failure with backoff. */
  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    const now = this.options.now();
    const delay = this.lastError
      ? RETRY_MS[Math.min(this.failures - 1, RETRY_MS.length - 1)]!
      : Math.max((this.expiresAtMs ?? now) - now, MIN_MAX_AGE_MS);
    this.timer = setTimeout(() => void this.refresh(), delay);
    // The cache never holds a process open.
    this.timer.unref();
  }
}

/** Cache-Control max-age in ms; 0 for no-store or no-cache; undefined when absent. */
export function maxAgeOf(cacheControl: string | null): number | undefined {
  if (!cacheControl) return undefined;
  const directives = cacheControl.toLowerCase().split(',').map((d) => d.trim());
  if (directives.includes('no-store') || directives.includes('no-cache')) return 0;
  for (const d of directives) {
    const m = /^max-age\s*=\s*"?(\d+)"?$/.exec(d);
    if (m) return Number(m[1]) * 1000;
  }
  return undefined;
}

/** The Ed25519 signing keys of a JWK Set, by kid; other keys are skipped. Throws on what is not a JWK Set. */
export function parseKeySet(body: unknown): Map<string, KeyObject> {
  const keys = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('the JWKS has no "keys" array');
  const out = new Map<string, KeyObject>();
  for (const jwk of keys as Record<string, unknown>[]) {
    if (typeof jwk !== 'object' || jwk === null) continue;
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.kid !== 'string' || typeof jwk.x !== 'string') continue;
    if (jwk.alg !== undefined && jwk.alg !== 'EdDSA') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    try {
      out.set(jwk.kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }));
    } catch {
      // A key Node cannot read verifies nothing.
    }
  }
  return out;
}
