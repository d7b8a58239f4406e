import { KeyObject, randomUUID, sign, verify } from 'node:crypto';
import type { CryptoKey } from 'jose';
import type { Clock } from './clock.js';
import type { Limits } from './limits.js';
import type { PeerRecord, TokenStamp } from './records.js';
import {
  PEER_TOKEN_ALGORITHM,
  PEER_TOKEN_TYPE,
  audienceFor,
  checkPeerClaims,
  parsePeerToken,
  type HeaderCache,
  type PeerTokenCheck,
  type PeerTokenSubject,
} from './peer-token-rules.js';
import type { SigningKeyRing } from './signing-keys.js';

export {
  PEER_TOKEN_TYPE,
  audienceFor,
  isCanonicalBase64url,
  type PeerTokenCheck,
  type PeerTokenClaims,
  type PeerTokenSubject,
  type TokenInvalidReason,
} from './peer-token-rules.js';

/**
 * The longest peer token that can still be sent as `authorization: Bearer
 * <token>` within `maxAuthorizationBytes`. Every token roomgate issues fits,
 * so every token it issues can be used and refreshed.
 */
export function maxPeerTokenBytes(limits: Pick<Limits, 'maxAuthorizationBytes'>): number {
  return limits.maxAuthorizationBytes - 'Bearer '.length;
}

/** A peer token and when it expires. */
export interface IssuedPeerToken {
  token: string;
  expiresAt: Date;
}

/** The claims a peer's tokens carry. */
export function tokenSubject(
  peer: Pick<PeerRecord, 'environment' | 'roomId' | 'id' | 'identity' | 'name' | 'metadata' | 'permissions' | 'generation'>,
): PeerTokenSubject {
  return {
    environment: peer.environment,
    roomId: peer.roomId,
    peerId: peer.id,
    identity: peer.identity,
    name: peer.name,
    metadata: peer.metadata,
    permissions: peer.permissions,
    generation: peer.generation,
  };
}

/** Options shared by issuing and verifying. */
export interface PeerTokenOptions {
  issuer: string;
  /** Seconds of clock skew tolerated on `exp` and `nbf`. */
  clockToleranceSeconds: number;
}

/** A 64-byte Ed25519 signature in unpadded base64url. */
const ED25519_SIGNATURE_CHARS = 86;

/** Signs and verifies peer tokens: EdDSA JWTs with `kid` and a peer-specific `typ`. */
export class PeerTokens {
  /** Per kid: the base64url protected header, the same for every token of that key. */
  private readonly headers = new Map<string, string>();
  /** Protected headers already checked, by segment (see parsePeerToken). */
  private readonly parsedHeaders: HeaderCache = new Map();
  /** Per signing key: node:crypto's handle on it, made once. */
  private readonly keyObjects = new WeakMap<CryptoKey, KeyObject>();

  constructor(
    private readonly keys: SigningKeyRing,
    private readonly clock: Clock,
    private readonly options: PeerTokenOptions,
  ) {}

  /** Chooses the claims of a new token valid for `ttlSeconds` from now. */
  stamp(ttlSeconds: number): TokenStamp {
    const issuedAt = Math.floor(this.clock.now().getTime() / 1000);
    return { jti: randomUUID(), kid: this.keys.current().kid, issuedAt, expiresAt: issuedAt + ttlSeconds };
  }

  /**
   * Signs a token. Ed25519 signatures are deterministic, so signing the same
   * subject and stamp again yields the same token: an idempotent retry of
   * CreatePeer returns byte-for-byte the first token while the peer is unchanged.
   */
  async sign(subject: PeerTokenSubject, stamp: TokenStamp): Promise<string> {
    const stamped = this.keys.privateKey(stamp.kid);
    const kid = stamped ? stamp.kid : this.keys.current().kid;
    const key = stamped ?? this.keys.current().privateKey;
    // The compact JWS is assembled here and signed with node:crypto, the same
    // bytes jose's SignJWT produced (header and claims in this order), without
    // its generic pipeline and its hop through WebCrypto: this is on every
    // CreatePeer. Verification stays with jose.
    const payload = this.payload(subject, stamp);
    const input = `${this.encodedHeader(kid)}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${input}.${sign(null, Buffer.from(input), this.keyObject(key)).toString('base64url')}`;
  }

  /**
   * The length in characters (= bytes: base64url is ASCII) of the token that
   * {@link sign} would make of `subject` and `stamp`, without signing it.
   */
  encodedLength(subject: PeerTokenSubject, stamp: TokenStamp): number {
    const payloadBytes = Buffer.byteLength(JSON.stringify(this.payload(subject, stamp)), 'utf8');
    const kid = this.keys.privateKey(stamp.kid) ? stamp.kid : this.keys.current().kid;
    return this.encodedHeader(kid).length + 1 + Math.ceil((payloadBytes * 4) / 3) + 1 + ED25519_SIGNATURE_CHARS;
  }

  private payload(subject: PeerTokenSubject, stamp: TokenStamp) {
    return {
      room: subject.roomId,
      identity: subject.identity,
      name: subject.name,
      metadata: subject.metadata,
      permissions: { ...subject.permissions },
      gen: subject.generation,
      iss: this.options.issuer,
      aud: audienceFor(subject.environment),
      sub: subject.peerId,
      iat: stamp.issuedAt,
      nbf: stamp.issuedAt,
      exp: stamp.expiresAt,
      jti: stamp.jti,
    };
  }

  private encodedHeader(kid: string): string {
    let header = this.headers.get(kid);
    if (header === undefined) {
      header = Buffer.from(JSON.stringify({ alg: PEER_TOKEN_ALGORITHM, kid, typ: PEER_TOKEN_TYPE })).toString('base64url');
      this.headers.set(kid, header);
    }
    return header;
  }

  private keyObject(key: CryptoKey): KeyObject {
    let object = this.keyObjects.get(key);
    if (!object) {
      object = KeyObject.from(key as Parameters<typeof KeyObject.from>[0]);
      this.keyObjects.set(key, object);
    }
    return object;
  }

  /**
   * Checks form and header, signature, then claims (see peer-token-rules.ts,
   * shared with the offline verifier), so nothing about an unsigned token is
   * believed. Does not check that the peer still exists: that needs the
   * database and is the caller's job.
   */
  async check(token: string): Promise<PeerTokenCheck> {
    const parsed = parsePeerToken(token, this.parsedHeaders);
    if (parsed === 'MALFORMED') return { valid: false, reason: 'MALFORMED' };
    const key = parsed.keyId === undefined ? undefined : await this.keys.publicKey(parsed.keyId);
    if (!key || !verify(null, Buffer.from(parsed.signingInput, 'latin1'), this.keyObject(key), parsed.signature)) {
      return { valid: false, reason: 'BAD_SIGNATURE' };
    }
    return checkPeerClaims(parsed, { ...this.options, nowMs: this.clock.now().getTime() });
  }
}
