import { createHash, createHmac, hkdfSync, randomBytes, randomInt } from 'node:crypto';
import { DomainError } from './errors.js';
import type { Environment, PeerPermissions } from './principal.js';

// The two kinds of join code and how they are stored (docs/join-codes.md,
// "Codes and their entropy"). A link code carries 192 random bits: its plain
// SHA-256 is safe to keep, as for management tokens. A short code carries
// only 10 letters of 26 (47.0 bits), which a database dump would give up to
// an offline search in hours, so its hash is an HMAC under a key derived from
// the key-encryption key, which the database does not hold.

/** Link or short code. */
export type JoinCodeKind = 'link' | 'short';

/** Every link code starts with this. */
export const LINK_CODE_PREFIX = 'rgj_';
/** Random bytes of a link code (192 bits, 32 base64url characters). */
export const LINK_CODE_BYTES = 24;
/** Letters of a short code, grouped 3-4-3: `abc-defg-hij`. */
export const SHORT_CODE_LETTERS = 10;
/** A short code's randomness: 10 · log2(26) ≈ 47.0 bits. */
export const SHORT_CODE_BITS = SHORT_CODE_LETTERS * Math.log2(26);

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';
const LINK_CODE = new RegExp(`^${LINK_CODE_PREFIX}[A-Za-z0-9_-]{${Math.ceil((LINK_CODE_BYTES * 4) / 3)}}$`);
const SHORT_CODE = /^[a-z]{10}$/;
/** What a typed short code may hold besides its letters: dashes and spaces, dropped on redemption. */
const SHORT_CODE_SEPARATORS = /[\s-]+/g;

/** A code as minted: the text (shown once), its stored hash and its hint. */
export interface MintedJoinCode {
  code: string;
  hash: Buffer;
  hint: string;
}

/** A join code as stored: never the code, only its hash and hint. */
export interface JoinCodeRecord {
  id: string;
  environment: Environment;
  roomId: string;
  /** The role's name, kept after the role is deleted. */
  role: string;
  /** The role's internal id; null once the role is deleted (the code then redeems nothing). */
  roleId: string | null;
  kind: JoinCodeKind;
  hint: string;
  /** The fixed identity of a personal invite; '' gives each peer its own id. */
  identity: string;
  maxUses: number;
  useCount: number;
  appUrl: string;
  description: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  /** Insertion sequence, the pagination key. */
  seq: string;
}

/** What a redemption applies: the code's role, as it is now. */
export interface JoinRole {
  id: string;
  name: string;
  permissions: PeerPermissions;
  tokenTtlSeconds: number;
  metadata: string;
}

/** A code that can be redeemed now, with its role and the environment's allowed app URLs, in order. */
export interface RedeemableJoinCode {
  code: JoinCodeRecord;
  role: JoinRole;
  appUrls: string[];
}

/** The join code limits of src/config.ts. */
export interface JoinCodeSettings {
  /** Longest a link code may live, in seconds. */
  maxTtlSeconds: number;
  /** Longest a short code may live, in seconds. */
  shortMaxTtlSeconds: number;
  /** Codes that can still be redeemed one environment may hold. */
  maxPerEnvironment: number;
  /** Of those, short codes: a guesser's odds grow with their number (docs/join-codes.md). */
  maxShortPerEnvironment: number;
  /** The HTTP listener's externally visible base URL, for join_url; '' when unknown. */
  publicUrl: string;
}

/** The one answer to an unknown, expired, revoked or used-up code: a caller must not learn which. */
export function joinCodeInvalid(): DomainError {
  return new DomainError('ERR_JOIN_CODE_INVALID', 'the join code is not valid: it may be mistyped, expired, revoked or used up');
}

/** A code as typed, in the one form that was hashed: link codes as they are, short codes as their 10 lowercase letters. */
export interface NormalizedJoinCode {
  kind: JoinCodeKind;
  text: string;
}

/**
 * Normalizes a code as typed: a link code must be exact; a short code may
 * come in any case, with or without its dashes, and with spaces. Undefined
 * when it has neither form.
 */
export function normalizeJoinCode(code: string): NormalizedJoinCode | undefined {
  if (code.startsWith(LINK_CODE_PREFIX)) return LINK_CODE.test(code) ? { kind: 'link', text: code } : undefined;
  if (code.length > 64) return undefined;
  const letters = code.replace(SHORT_CODE_SEPARATORS, '').toLowerCase();
  return SHORT_CODE.test(letters) ? { kind: 'short', text: letters } : undefined;
}

/** Hashes and mints join codes; the short codes' key is derived from the key-encryption key. */
export class JoinCodeHasher {
  private readonly shortKey: Buffer;

  /** `keyEncryptionKey` is ROOMGATE_KEY_ENCRYPTION_KEY's 32 bytes, which every instance shares. */
  constructor(keyEncryptionKey: Buffer) {
    if (keyEncryptionKey.length !== 32) throw new Error('the key-encryption key must be 32 bytes');
    this.shortKey = Buffer.from(hkdfSync('sha256', keyEncryptionKey, 'roomgate', 'join-codes/short/v1', 32));
  }

  /** The stored hash of a normalized code: SHA-256 for link codes, HMAC-SHA256 for short ones. */
  hash(code: NormalizedJoinCode): Buffer {
    return code.kind === 'link'
      ? createHash('sha256').update(code.text, 'utf8').digest()
      : createHmac('sha256', this.shortKey).update(code.text, 'utf8').digest();
  }

  /**
   * The hash of anything typed, for the rate limiter: a text of neither form
   * gets the HMAC of its raw text, so that guesses of a malformed code are
   * counted like any other and the text is still never kept.
   */
  hashTyped(code: string): { normalized: NormalizedJoinCode | undefined; hash: Buffer } {
    const normalized = normalizeJoinCode(code);
    return { normalized, hash: normalized ? this.hash(normalized) : createHmac('sha256', this.shortKey).update(code, 'utf8').digest() };
  }

  /** Mints a code of `kind`. */
  mint(kind: JoinCodeKind): MintedJoinCode {
    const code = kind === 'link' ? LINK_CODE_PREFIX + randomBytes(LINK_CODE_BYTES).toString('base64url') : shortCode();
    const normalized = normalizeJoinCode(code) as NormalizedJoinCode;
    return { code, hash: this.hash(normalized), hint: code.slice(-4) };
  }
}

function shortCode(): string {
  // randomInt draws without modulo bias.
  const letters = Array.from({ length: SHORT_CODE_LETTERS }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return `${letters.slice(0, 3)}-${letters.slice(3, 7)}-${letters.slice(7)}`;
}

/** Whether a code can still be redeemed at `now` (it may still fail on its room or role). */
export function isRedeemable(code: JoinCodeRecord, now: Date): boolean {
  return code.revokedAt === null && code.expiresAt > now && code.useCount < code.maxUses && code.roleId !== null;
}
