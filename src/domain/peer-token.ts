import { KeyObject, randomUUID, sign } from 'node:crypto';
import { errors, jwtVerify, type CryptoKey, type JWTPayload, type JWTHeaderParameters } from 'jose';
import type { Clock } from './clock.js';
import type { Limits } from './limits.js';
import type { Environment, PeerPermissions } from './principal.js';
import { ENVIRONMENTS } from './principal.js';
import type { PeerRecord, TokenStamp } from './records.js';
import { PEER_TOKEN_ALGORITHM, type SigningKeyRing } from './signing-keys.js';

/** The `typ` header of peer tokens; any other JWT (JWKS, webhook, ...) is refused as a peer token. */
export const PEER_TOKEN_TYPE = 'roomgate-peer+jwt';

/** The `aud` of a peer token issued in `environment`. */
export function audienceFor(environment: Environment): string {
  return `roomgate:${environment}`;
}

/** What a peer token says about its peer. */
export interface PeerTokenSubject {
  environment: Environment;
  roomId: string;
  peerId: string;
  identity: string;
  name: string;
  metadata: string;
  permissions: PeerPermissions;
  /** The peer's permission generation when the token was issued (claim `gen`). */
  generation: number;
}

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

/** Verified claims of a peer token. */
export interface PeerTokenClaims extends PeerTokenSubject {
  tokenId: string;
  issuer: string;
  keyId: string;
  issuedAt: Date;
  notBefore: Date;
  expiresAt: Date;
}

/** Why a token does not verify; mirrors roomgate.v1.TokenInvalidReason. */
export type TokenInvalidReason =
  | 'EXPIRED'
  | 'REVOKED'
  | 'BAD_SIGNATURE'
  | 'MALFORMED'
  | 'WRONG_ENVIRONMENT'
  | 'WRONG_ROOM'
  | 'NOT_YET_VALID'
  | 'WRONG_ISSUER'
  | 'SUPERSEDED';

/** The outcome of a signature-and-claims check. */
export type PeerTokenCheck = { valid: true; claims: PeerTokenClaims } | { valid: false; reason: TokenInvalidReason };

/** Options shared by issuing and verifying. */
export interface PeerTokenOptions {
  issuer: string;
  /** Seconds of clock skew tolerated on `exp` and `nbf`. */
  clockToleranceSeconds: number;
}

class UnknownKeyError extends Error {}

const PERMISSION_KEYS = ['canPublish', 'canSubscribe', 'canUpdateMetadata', 'canUpdateRoom', 'canRemoveParticipants'] as const;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** A 64-byte Ed25519 signature in unpadded base64url. */
const ED25519_SIGNATURE_CHARS = 86;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Signs and verifies peer tokens: EdDSA JWTs with `kid` and a peer-specific `typ`. */
export class PeerTokens {
  /** Per kid: the base64url protected header, the same for every token of that key. */
  private readonly headers = new Map<string, string>();
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
   * Checks signature, header and claims, in that order, so nothing about an
   * unsigned token is believed. Does not check that the peer still exists:
   * that needs the database and is the caller's job.
   */
  async check(token: string): Promise<PeerTokenCheck> {
    // One spelling per token: jose's base64url decoder tolerates padding and
    // whitespace, and the signature segment is not itself signed, so without
    // this check one token would have many accepted forms.
    if (!COMPACT_JWS.test(token) || !token.split('.').every(isCanonicalBase64url)) return { valid: false, reason: 'MALFORMED' };
    let payload: JWTPayload;
    let header: JWTHeaderParameters;
    try {
      ({ payload, protectedHeader: header } = await jwtVerify(
        token,
        async (h) => {
          const key = typeof h.kid === 'string' && h.kid.length <= 64 ? await this.keys.publicKey(h.kid) : undefined;
          if (!key) throw new UnknownKeyError();
          return key;
        },
        {
          algorithms: [PEER_TOKEN_ALGORITHM],
          typ: PEER_TOKEN_TYPE,
          issuer: this.options.issuer,
          clockTolerance: this.options.clockToleranceSeconds,
          requiredClaims: ['exp', 'iat', 'nbf', 'jti', 'sub', 'aud'],
          currentDate: this.clock.now(),
        },
      ));
    } catch (err) {
      return { valid: false, reason: reasonFor(err) };
    }
    const claims = toClaims(payload, header, this.options.issuer);
    return claims ? { valid: true, claims } : { valid: false, reason: 'MALFORMED' };
  }
}

/**
 * Whether `segment` is the one base64url spelling of its bytes. The last
 * character of a segment whose length is not a multiple of 4 carries 2 or 4
 * unused bits that decoders ignore, so without this check a token had up to
 * 16 accepted spellings (and a length of 1 mod 4 decodes to nothing at all).
 * Re-encoding what Node decodes yields the canonical spelling.
 */
export function isCanonicalBase64url(segment: string): boolean {
  return Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

function reasonFor(err: unknown): TokenInvalidReason {
  if (err instanceof UnknownKeyError || err instanceof errors.JWSSignatureVerificationFailed) return 'BAD_SIGNATURE';
  if (err instanceof errors.JWTExpired) return 'EXPIRED';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' && err.reason === 'check_failed') return 'NOT_YET_VALID';
    if (err.claim === 'iss' && err.reason === 'check_failed') return 'WRONG_ISSUER';
  }
  return 'MALFORMED';
}

function toClaims(p: JWTPayload, header: JWTHeaderParameters, issuer: string): PeerTokenClaims | undefined {
  const environment = ENVIRONMENTS.find((e) => p.aud === audienceFor(e));
  const perms = p.permissions as Record<string, unknown> | undefined;
  if (
    !environment ||
    typeof p.sub !== 'string' || !UUID.test(p.sub) ||
    typeof p.room !== 'string' || !UUID.test(p.room) ||
    typeof p.identity !== 'string' || typeof p.name !== 'string' || typeof p.metadata !== 'string' ||
    typeof perms !== 'object' || perms === null || Array.isArray(perms) ||
    !PERMISSION_KEYS.every((k) => typeof perms[k] === 'boolean') ||
    typeof p.jti !== 'string' ||
    !Number.isSafeInteger(p.gen) || (p.gen as number) < 1
  ) {
    return undefined;
  }
  const permissions = Object.fromEntries(PERMISSION_KEYS.map((k) => [k, perms[k] as boolean])) as unknown as PeerPermissions;
  return {
    environment,
    roomId: p.room,
    peerId: p.sub,
    identity: p.identity,
    name: p.name,
    metadata: p.metadata,
    permissions,
    generation: p.gen as number,
    tokenId: p.jti,
    issuer,
    keyId: String(header.kid),
    issuedAt: new Date((p.iat as number) * 1000),
    notBefore: new Date((p.nbf as number) * 1000),
    expiresAt: new Date((p.exp as number) * 1000),
  };
}
