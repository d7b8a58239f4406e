import { createCipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { invalidArgument } from './errors.js';
import type { Environment } from './principal.js';

/** The list calls that hand out page tokens; a token of one is refused by another. */
export type PageList = 'rooms' | 'peers' | 'management-tokens' | 'webhook-endpoints';

/** What a page token is bound to: the caller's environment, the list, and for peers the room. */
export interface PageScope {
  environment: Environment;
  list: PageList;
  /** The room whose peers are listed; empty for lists that are not within a room. */
  within?: string;
}

/** A page of results and the token for the next one ('' at the end). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

const MAX_BIGINT = 9_223_372_036_854_775_807n;
const SIV_BYTES = 16;
const SEQ_BYTES = 8;
// 24 bytes in unpadded base64url.
const TOKEN = /^[A-Za-z0-9_-]{32}$/;

/**
 * Page tokens: the last row's insertion sequence, sealed. Keyset pagination
 * on (seq) never repeats or skips a row when rows arrive between pages, but
 * seq is one counter per table across both environments, so a readable token
 * told a sandbox caller how many production rooms had been created between
 * two of its pages. The sequence is encrypted with a synthetic IV (the HMAC
 * of the scope and the sequence, as in SIV mode, RFC 5297): a token looks
 * random, equal positions give equal tokens, and a token made for another
 * environment, list or room, or altered in any bit, fails the HMAC check.
 * The keys are derived from the key-encryption key, which every instance
 * shares, so a token from one instance works on another.
 */
export class PageTokens {
  private readonly encryptionKey: Buffer;
  private readonly macKey: Buffer;

  /** `keyEncryptionKey` is ROOMGATE_KEY_ENCRYPTION_KEY's 32 bytes; page keys are derived from it with HKDF. */
  constructor(keyEncryptionKey: Buffer) {
    if (keyEncryptionKey.length !== 32) throw new Error('the key-encryption key must be 32 bytes');
    const keys = Buffer.from(hkdfSync('sha256', keyEncryptionKey, 'roomgate', 'page-tokens/v1', 64));
    this.encryptionKey = keys.subarray(0, 32);
    this.macKey = keys.subarray(32);
  }

  /** Seals the position after the last returned row. */
  encode(scope: PageScope, lastSeq: string): string {
    const plain = Buffer.alloc(SEQ_BYTES);
    plain.writeBigUInt64BE(BigInt(lastSeq));
    const siv = this.siv(scope, plain);
    return Buffer.concat([siv, this.ctr(siv, plain)]).toString('base64url');
  }

  /**
   * Opens a page token; empty means the first page. Anything this service did
   * not seal for exactly this scope is INVALID_ARGUMENT.
   */
  decode(scope: PageScope, token: string): string | undefined {
    if (token === '') return undefined;
    const sealed = TOKEN.test(token) ? Buffer.from(token, 'base64url') : undefined;
    if (sealed && sealed.toString('base64url') === token) {
      const siv = sealed.subarray(0, SIV_BYTES);
      const plain = this.ctr(siv, sealed.subarray(SIV_BYTES));
      const seq = plain.readBigUInt64BE();
      if (timingSafeEqual(siv, this.siv(scope, plain)) && seq <= MAX_BIGINT) return seq.toString();
    }
    throw invalidArgument('page_token', 'is not a token returned by this list call');
  }

  /** Builds a page from rows fetched with limit+1, so the last page has no token. */
  page<T extends { seq: string }>(scope: PageScope, rows: T[], size: number): Page<T> {
    const items = rows.slice(0, size);
    const last = items[items.length - 1];
    return { items, nextPageToken: rows.length > size && last ? this.encode(scope, last.seq) : '' };
  }

  private siv(scope: PageScope, plain: Buffer): Buffer {
    // Length-free framing is safe here: every field but the last has a fixed
    // alphabet without NUL, and the plaintext has a fixed length.
    const context = `page/v1\0${scope.environment}\0${scope.list}\0${scope.within ?? ''}\0`;
    return createHmac('sha256', this.macKey).update(context).update(plain).digest().subarray(0, SIV_BYTES);
  }

  private ctr(siv: Buffer, data: Buffer): Buffer {
    const cipher = createCipheriv('aes-256-ctr', this.encryptionKey, siv);
    return Buffer.concat([cipher.update(data), cipher.final()]);
  }
}
