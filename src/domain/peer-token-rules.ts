// The format and claims rules of peer tokens, in one place for the two that
// verify them: the server's PeerTokens (VerifyPeerToken, peer callers) and the
// offline verifier of @roomgate/client/verifier. Pure: no jose, pg or grpc,
// and no key store; the caller looks the key up and checks the signature
// between parsePeerToken and checkPeerClaims, so nothing about an unsigned
// token is believed. The order of the checks, and so the reason a token gets,
// is jose's jwtVerify's, which the server used before: header and algorithm,
// key, signature, payload, typ, required claims, iss, nbf, exp.
import { isUtf8 } from 'node:buffer';
import { type Environment, type PeerPermissions } from './principal.js';

/** The JWS algorithm of peer tokens, pinned on both sides: Ed25519. */
export const PEER_TOKEN_ALGORITHM = 'EdDSA';

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

/** What the claims are checked against. */
export interface PeerClaimRules {
  issuer: string;
  /** Seconds of clock skew tolerated on `exp` and `nbf`. */
  clockToleranceSeconds: number;
  /** The current time in milliseconds. */
  nowMs: number;
}

/** A compact JWS whose form and header passed: what the signature check needs, and what the claims check reads. */
export interface ParsedPeerToken {
  /** The key to verify with: the header's `kid` when it is a string of at most 64 characters; else no key verifies it. */
  keyId: string | undefined;
  /** `header.payload`, the bytes the signature covers (ASCII). */
  signingInput: string;
  /** The decoded signature. */
  signature: Buffer;
  header: Record<string, unknown>;
  /** The decoded payload (canonical spelling checked), not yet parsed. */
  payload: Buffer;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REQUIRED_CLAIMS = ['exp', 'iat', 'nbf', 'jti', 'sub', 'aud', 'iss'] as const;

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

/** Parsed protected headers by their segment: every token of a key has the same one. */
export type HeaderCache = Map<string, Record<string, unknown> | 'MALFORMED'>;

/** Headers a {@link HeaderCache} holds at most; a flood of distinct ones only cycles it. */
const HEADER_CACHE_SIZE = 64;

/**
 * Checks a token's form and protected header: three non-empty canonical
 * base64url segments, a JSON object header with `alg` EdDSA and no `crit`
 * but jose's `b64`. MALFORMED otherwise. `headers`, when given, keeps the
 * outcome for a header segment seen before (the same bytes always give the
 * same outcome): the verifier's fast path.
 */
export function parsePeerToken(token: string, headers?: HeaderCache): ParsedPeerToken | 'MALFORMED' {
  const first = token.indexOf('.');
  const second = first < 1 ? -1 : token.indexOf('.', first + 1);
  // Three non-empty segments. Their alphabet needs no test of its own: the
  // re-encoding of what Node decodes is made of base64url characters only,
  // so a segment with any other character is not canonical.
  if (second < first + 2 || second === token.length - 1 || token.indexOf('.', second + 1) !== -1) return 'MALFORMED';
  const headerSegment = token.slice(0, first);
  const payloadSegment = token.slice(first + 1, second);
  const signatureSegment = token.slice(second + 1);
  // One spelling per token: the signature segment is not itself signed, so
  // without this check one token would have many accepted forms.
  const signature = Buffer.from(signatureSegment, 'base64url');
  if (signature.toString('base64url') !== signatureSegment) return 'MALFORMED';
  const payload = Buffer.from(payloadSegment, 'base64url');
  if (payload.toString('base64url') !== payloadSegment) return 'MALFORMED';
  let header = headers?.get(headerSegment);
  if (header === undefined) {
    header = parseHeader(headerSegment);
    if (headers) {
      if (headers.size >= HEADER_CACHE_SIZE) headers.delete(headers.keys().next().value as string);
      headers.set(headerSegment, header);
    }
  }
  if (header === 'MALFORMED') return 'MALFORMED';
  const kid = header.kid;
  return {
    keyId: typeof kid === 'string' && kid.length <= 64 ? kid : undefined,
    signingInput: token.slice(0, second),
    signature,
    header,
    payload,
  };
}

function parseHeader(segment: string): Record<string, unknown> | 'MALFORMED' {
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) return 'MALFORMED';
  const header = parseJsonObject(bytes);
  return header && critAllowed(header) && header.alg === PEER_TOKEN_ALGORITHM ? header : 'MALFORMED';
}

/**
 * Checks the claims of a token whose signature has been verified: payload,
 * `typ`, required claims, `iss` (WRONG_ISSUER), `nbf` (NOT_YET_VALID) and
 * `exp` (EXPIRED) with the tolerance, then each claim's type and form, and
 * that `aud` names an environment (MALFORMED otherwise).
 */
export function checkPeerClaims(parsed: ParsedPeerToken, rules: PeerClaimRules): PeerTokenCheck {
  // jose's b64:false (an unencoded payload, allowed under crit) is not a JWT.
  if (parsed.header.b64 === false) return malformed;
  const p = parseJsonObject(parsed.payload);
  if (!p) return malformed;
  const typ = parsed.header.typ;
  if (typeof typ !== 'string' || normalizeTyp(typ) !== NORMALIZED_TYPE) return malformed;
  for (const claim of REQUIRED_CLAIMS) if (!Object.hasOwn(p, claim)) return malformed;
  if (p.iss !== rules.issuer) return { valid: false, reason: 'WRONG_ISSUER' };
  const now = Math.floor(rules.nowMs / 1000);
  const { iat, nbf, exp } = p;
  if (typeof iat !== 'number' || typeof nbf !== 'number') return malformed;
  if (nbf > now + rules.clockToleranceSeconds) return { valid: false, reason: 'NOT_YET_VALID' };
  if (typeof exp !== 'number') return malformed;
  if (exp <= now - rules.clockToleranceSeconds) return { valid: false, reason: 'EXPIRED' };
  const environment = p.aud === SANDBOX_AUDIENCE ? 'sandbox' : p.aud === PRODUCTION_AUDIENCE ? 'production' : undefined;
  const perms = p.permissions as Record<string, unknown> | undefined;
  if (
    !environment ||
    typeof p.sub !== 'string' || !UUID.test(p.sub) ||
    typeof p.room !== 'string' || !UUID.test(p.room) ||
    typeof p.identity !== 'string' || typeof p.name !== 'string' || typeof p.metadata !== 'string' ||
    typeof perms !== 'object' || perms === null || Array.isArray(perms) ||
    typeof perms.canPublish !== 'boolean' || typeof perms.canSubscribe !== 'boolean' ||
    typeof perms.canUpdateMetadata !== 'boolean' || typeof perms.canUpdateRoom !== 'boolean' ||
    typeof perms.canRemoveParticipants !== 'boolean' ||
    typeof p.jti !== 'string' ||
    !Number.isSafeInteger(p.gen) || (p.gen as number) < 1
  ) {
    return malformed;
  }
  const permissions: PeerPermissions = {
    canPublish: perms.canPublish as boolean,
    canSubscribe: perms.canSubscribe as boolean,
    canUpdateMetadata: perms.canUpdateMetadata as boolean,
    canUpdateRoom: perms.canUpdateRoom as boolean,
    canRemoveParticipants: perms.canRemoveParticipants as boolean,
  };
  return {
    valid: true,
    claims: {
      environment,
      roomId: p.room,
      peerId: p.sub,
      identity: p.identity,
      name: p.name,
      metadata: p.metadata,
      permissions,
      generation: p.gen as number,
      tokenId: p.jti,
      issuer: rules.issuer,
      keyId: String(parsed.header.kid),
      issuedAt: new Date(iat * 1000),
      notBefore: new Date(nbf * 1000),
      expiresAt: new Date(exp * 1000),
    },
  };
}

const malformed = { valid: false, reason: 'MALFORMED' } as const;
const SANDBOX_AUDIENCE = audienceFor('sandbox');
const PRODUCTION_AUDIENCE = audienceFor('production');

// As jose compares typ: case-insensitive, with an implied "application/".
const normalizeTyp = (value: string) => (value.includes('/') ? value.toLowerCase() : `application/${value.toLowerCase()}`);
const NORMALIZED_TYPE = normalizeTyp(PEER_TOKEN_TYPE);

/** A top-level JSON object from strict UTF-8 bytes; undefined for anything else. */
function parseJsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  if (!isUtf8(bytes)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * The `crit` header as jose allowed it: absent, or naming only `b64`
 * (present, boolean, once). Every other extension is one we do not
 * understand, which RFC 7515 says must be refused.
 */
function critAllowed(header: Record<string, unknown>): boolean {
  const crit = header.crit;
  if (crit === undefined) return true;
  if (!Array.isArray(crit) || crit.length === 0 || new Set(crit).size !== crit.length) return false;
  return crit.every((c) => c === 'b64') && typeof header.b64 === 'boolean';
}
