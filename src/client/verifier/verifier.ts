import { verify as verifySignature, type KeyObject } from 'node:crypto';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { checkPeerClaims, parsePeerToken, type HeaderCache, type PeerTokenClaims, type TokenInvalidReason } from '../../domain/peer-token-rules.js';
import type { Event } from '../../gen/roomgate/v1/events.js';
import { RevocationCause } from '../../gen/roomgate/v1/events.js';
import { RevocationFeed } from './feed.js';
import { KeySet, type KeySetStatus } from './key-set.js';
import { RevocationState, type RevocationCounts } from './revocations.js';

/** Options of {@link PeerTokenVerifier.create}. */
export interface VerifierOptions {
  /** roomgate's JWKS URL, e.g. `http://roomgate:8080/.well-known/jwks.json`. */
  jwksUrl: string;
  /** The issuer roomgate signs with (ROOMGATE_ISSUER). */
  issuer: string;
  /** The environment whose tokens are accepted; others are WRONG_ENVIRONMENT. */
  environment: 'sandbox' | 'production';
  /** Seconds of clock skew tolerated on `exp` and `nbf`; 5 by default, as the server. */
  clockToleranceSeconds?: number;
  /** The revocation feed; without it, revocations are not seen (the verifier is then as blind as a bare JWT check). */
  feed?: {
    /** roomgate's gRPC address, host:port. */
    address: string;
    /** A management token with scope verify. */
    token: string;
    /** TLS credentials; insecure by default. */
    credentials?: ChannelCredentials;
    /** Heartbeats on a quiet feed, 1-60 s; 5 by default. */
    heartbeatIntervalSeconds?: number;
    /** Resume after a cursor saved from {@link PeerTokenVerifier.cursor} (to see revocations made while this process was down). */
    afterCursor?: string;
  };
  /**
   * What verification does when the feed has been silent for long: refuse
   * with STALE once the last event or heartbeat is older than
   * `failClosedAfterSeconds` (30 by default), or 'fail-open': keep
   * accepting, with `stale: true` in the result.
   */
  stale?: { failClosedAfterSeconds: number } | 'fail-open';
  /**
   * The longest token lifetime honoured (exp - iat), 86400 s by default (the
   * server's longest token_ttl_seconds, 86400). Revocations are kept this long,
   * and a token is EXPIRED this long after its iat even if its exp is later.
   */
  maxTokenLifetimeSeconds?: number;
  /** The time in ms; Date.now by default (for tests). */
  now?: () => number;
}

/** The claims of a verified peer token, as VerifyPeerToken returns them. */
export type VerifiedClaims = PeerTokenClaims;

/** Why a token is refused: VerifyPeerToken's reasons, and STALE when the feed is too old to trust. */
export type InvalidReason = TokenInvalidReason | 'STALE';

/** The outcome of a verification; `stale` says the revocation feed was stale when it was made. */
export type VerifyResult =
  | { valid: true; claims: VerifiedClaims; stale: boolean }
  | { valid: false; reason: InvalidReason; stale: boolean; claims?: VerifiedClaims };

/** A revocation the feed applied. */
export type RevocationChange =
  | { type: 'peer-revoked'; roomId: string; peerId: string; identity: string; cause: 'PEER_DELETED' | 'ROOM_DELETED' | 'BANNED' | 'UNSPECIFIED' }
  | { type: 'peer-superseded'; roomId: string; peerId: string; identity: string; generation: number }
  | { type: 'room-deleted'; roomId: string }
  | { type: 'ban-created'; banId: string; identity: string; roomId: string | undefined; expiresAt: Date | undefined }
  | { type: 'ban-ended'; banId: string; identity: string; roomId: string | undefined };

/** How fresh the revocation feed is. */
export interface Freshness {
  /** Milliseconds since the last event or heartbeat (or the subscription, before any); undefined without a feed. */
  lastEventAgeMs: number | undefined;
  /** Whether verifications are now marked stale (see {@link VerifierOptions.stale}). */
  stale: boolean;
  /** Whether the WatchEvents call is open. */
  connected: boolean;
}

const DEFAULT_HEARTBEAT_SECONDS = 5;

/**
 * Verifies roomgate peer tokens offline, with the checks and reasons of
 * VerifyPeerToken (the rules are the server's own, src/domain/peer-token-rules.ts),
 * keys from the JWKS URL, and, with a feed, revocations from WatchEvents.
 */
export class PeerTokenVerifier {
  private readonly now: () => number;
  private readonly toleranceSeconds: number;
  private readonly maxLifetimeMs: number;
  private readonly failClosedAfterMs: number | undefined;
  private readonly staleAfterMs: number;
  private readonly revocations: RevocationState;
  private readonly listeners = new Set<(change: RevocationChange) => void>();
  private feed: RevocationFeed | undefined;
  /** Protected headers already checked, by segment: every token of a key has the same. */
  private readonly headers: HeaderCache = new Map();
  private readonly pruner: NodeJS.Timeout;

  private constructor(
    private readonly options: VerifierOptions,
    private readonly keys: KeySet,
  ) {
    this.now = options.now ?? Date.now;
    this.toleranceSeconds = options.clockToleranceSeconds ?? 5;
    this.maxLifetimeMs = (options.maxTokenLifetimeSeconds ?? 86_400) * 1000;
    const stale = options.stale ?? { failClosedAfterSeconds: 30 };
    this.failClosedAfterMs = stale === 'fail-open' ? undefined : stale.failClosedAfterSeconds * 1000;
    // Two missed heartbeats, or the fail-closed bound if sooner, make results stale.
    const heartbeatMs = (options.feed?.heartbeatIntervalSeconds ?? DEFAULT_HEARTBEAT_SECONDS) * 1000;
    this.staleAfterMs = Math.min(2 * heartbeatMs + 1000, this.failClosedAfterMs ?? Infinity);
    this.revocations = new RevocationState(this.maxLifetimeMs + this.toleranceSeconds * 1000);
    this.pruner = setInterval(() => this.revocations.prune(this.now()), 10_000);
    this.pruner.unref();
  }

  /** Loads the keys and, with a feed, subscribes; rejects when either fails the first time. */
  static async create(options: VerifierOptions): Promise<PeerTokenVerifier> {
    validate(options);
    const now = options.now ?? Date.now;
    const keys = new KeySet({ url: options.jwksUrl, now });
    const verifier = new PeerTokenVerifier(options, keys);
    try {
      await keys.load();
      if (options.feed) {
        verifier.feed = new RevocationFeed({
          ...options.feed,
          heartbeatIntervalSeconds: options.feed.heartbeatIntervalSeconds ?? DEFAULT_HEARTBEAT_SECONDS,
          now,
          onEvent: (event) => verifier.apply(event),
        });
        await verifier.feed.start();
      }
    } catch (err) {
      await verifier.close();
      throw err;
    }
    return verifier;
  }

  /**
   * Verifies a token: form, signature, claims, environment, room (when
   * given), the lifetime bound, then the feed's state and staleness.
   */
  async verify(token: string, options?: { roomId?: string }): Promise<VerifyResult> {
    const parsed = parsePeerToken(token, this.headers);
    if (parsed === 'MALFORMED') return this.refuse('MALFORMED');
    let key: KeyObject | undefined;
    if (parsed.keyId !== undefined) key = this.keys.get(parsed.keyId) ?? (await this.keys.resolve(parsed.keyId));
    if (!key || !verifySignature(null, Buffer.from(parsed.signingInput, 'latin1'), key, parsed.signature)) return this.refuse('BAD_SIGNATURE');
    const nowMs = this.now();
    const checked = checkPeerClaims(parsed, { issuer: this.options.issuer, clockToleranceSeconds: this.toleranceSeconds, nowMs });
    if (!checked.valid) return this.refuse(checked.reason);
    const { claims } = checked;
    if (claims.environment !== this.options.environment) return this.refuse('WRONG_ENVIRONMENT');
    if (options?.roomId !== undefined && options.roomId !== '' && claims.roomId !== options.roomId) return this.refuse('WRONG_ROOM');
    return this.recheckAt(claims, nowMs);
  }

  /** Checks already-verified claims again, synchronously: expiry, the feed's state and staleness (for connected peers). */
  recheck(claims: VerifiedClaims): VerifyResult {
    return this.recheckAt(claims, this.now());
  }

  /** Calls `listener` after each revocation the feed applies; returns a function that unsubscribes. */
  onRevocation(listener: (change: RevocationChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  freshness(): Freshness {
    if (!this.feed) return { lastEventAgeMs: undefined, stale: false, connected: false };
    const last = this.feed.lastMessageAt();
    const age = last === undefined ? undefined : Math.max(0, this.now() - last);
    const connected = this.feed.isConnected();
    return { lastEventAgeMs: age, stale: !connected || age === undefined || age > this.staleAfterMs, connected };
  }

  /** Where the feed would resume; save it to start a later verifier with `feed.afterCursor`. */
  cursor(): string | undefined {
    return this.feed?.resumeCursor();
  }

  /** What is held in memory, and how the keys stand (for metrics and tests). */
  stats(): { revocations: RevocationCounts; keys: KeySetStatus } {
    return { revocations: this.revocations.counts(), keys: this.keys.status() };
  }

  /** Stops the feed and the key refreshes. */
  async close(): Promise<void> {
    clearInterval(this.pruner);
    this.keys.close();
    this.feed?.close();
    this.listeners.clear();
  }

  private recheckAt(claims: VerifiedClaims, nowMs: number): VerifyResult {
    const stale = this.freshness().stale;
    const toleranceMs = this.toleranceSeconds * 1000;
    // A token honoured past maxTokenLifetimeSeconds could outlive the revocation entries kept for it.
    const endMs = Math.min(claims.expiresAt.getTime(), claims.issuedAt.getTime() + this.maxLifetimeMs);
    if (endMs <= nowMs - toleranceMs) return { valid: false, reason: 'EXPIRED', stale, claims };
    const revoked = this.revocations.check(claims, nowMs);
    if (revoked) return { valid: false, reason: revoked, stale, claims };
    if (stale && this.failClosedAfterMs !== undefined && this.feedAgeMs(nowMs) > this.failClosedAfterMs) {
      return { valid: false, reason: 'STALE', stale, claims };
    }
    return { valid: true, claims, stale };
  }

  private feedAgeMs(nowMs: number): number {
    const last = this.feed?.lastMessageAt();
    return this.feed === undefined ? 0 : last === undefined ? Infinity : nowMs - last;
  }

  private refuse(reason: InvalidReason): VerifyResult {
    return { valid: false, reason, stale: this.freshness().stale };
  }

  /** Applies one feed event to the state and tells the listeners. */
  private apply(event: Event): void {
    const nowMs = this.now();
    const change = toChange(event);
    if (!change) return;
    switch (change.type) {
      case 'peer-revoked':
        this.revocations.revokePeer(change.peerId, nowMs);
        break;
      case 'peer-superseded':
        this.revocations.supersede(change.peerId, change.generation, nowMs);
        break;
      case 'room-deleted':
        this.revocations.deleteRoom(change.roomId, nowMs);
        break;
      case 'ban-created':
        this.revocations.ban({ id: change.banId, identity: change.identity, roomId: change.roomId, expiresAtMs: change.expiresAt?.getTime() });
        break;
      case 'ban-ended':
        this.revocations.unban(change.banId);
        break;
    }
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own; the feed goes on.
      }
    }
  }
}

const CAUSES: Partial<Record<RevocationCause, 'PEER_DELETED' | 'ROOM_DELETED' | 'BANNED'>> = {
  [RevocationCause.REVOCATION_CAUSE_PEER_DELETED]: 'PEER_DELETED',
  [RevocationCause.REVOCATION_CAUSE_ROOM_DELETED]: 'ROOM_DELETED',
  [RevocationCause.REVOCATION_CAUSE_BANNED]: 'BANNED',
};

/** The revocation an event makes, if any (the feed of a broader token carries other events too). */
function toChange(event: Event): RevocationChange | undefined {
  const p = event.payload;
  switch (p?.$case) {
    case 'peerTokenRevoked': {
      const { peerId, identity, cause, generation } = p.value;
      if (cause === RevocationCause.REVOCATION_CAUSE_PERMISSIONS_CHANGED) {
        return { type: 'peer-superseded', roomId: event.roomId, peerId, identity, generation };
      }
      return { type: 'peer-revoked', roomId: event.roomId, peerId, identity, cause: CAUSES[cause] ?? 'UNSPECIFIED' };
    }
    case 'roomDeleted':
    case 'roomPurged':
      return { type: 'room-deleted', roomId: event.roomId };
    case 'banCreated':
      return {
        type: 'ban-created',
        banId: p.value.id,
        identity: p.value.identity,
        roomId: p.value.roomId === '' ? undefined : p.value.roomId,
        expiresAt: p.value.expireTime,
      };
    case 'banLifted':
    case 'banExpired':
      return { type: 'ban-ended', banId: p.value.id, identity: p.value.identity, roomId: p.value.roomId === '' ? undefined : p.value.roomId };
    default:
      return undefined;
  }
}

function validate(options: VerifierOptions): void {
  const bad = (what: string) => new TypeError(`PeerTokenVerifier: ${what}`);
  if (!/^https?:\/\//.test(options.jwksUrl)) throw bad('jwksUrl must be an http(s) URL');
  if (!options.issuer) throw bad('issuer is required');
  if (options.environment !== 'sandbox' && options.environment !== 'production') throw bad("environment must be 'sandbox' or 'production'");
  const hb = options.feed?.heartbeatIntervalSeconds;
  if (hb !== undefined && (!Number.isInteger(hb) || hb < 1 || hb > 60)) throw bad('feed.heartbeatIntervalSeconds must be 1-60');
  if (options.stale !== undefined && options.stale !== 'fail-open' && !(options.stale.failClosedAfterSeconds > 0)) {
    throw bad("stale.failClosedAfterSeconds must be positive (or use 'fail-open')");
  }
  const max = options.maxTokenLifetimeSeconds;
  if (max !== undefined && !(Number.isFinite(max) && max > 0)) throw bad('maxTokenLifetimeSeconds must be positive');
}
