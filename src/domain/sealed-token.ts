import { createCipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

const SIV_BYTES = 16;

/**
 * Deterministic authenticated encryption of short fixed-length positions
 * (page tokens, event cursors), after SIV mode (RFC 5297) with HMAC-SHA256 in
 * place of S2V: the IV is the MAC of the context and the plaintext, and the
 * plaintext is encrypted with AES-256-CTR under it. A sealed value looks
 * random, equal values in one context seal equally, and one sealed in another
 * context (environment, list), under another key, or altered in any bit does
 * not open. Keys are derived with HKDF from the key-encryption key, which all
 * instances share, with `purpose` keeping each use's keys apart.
 */
export class Sealer {
  private readonly encryptionKey: Buffer;
  private readonly macKey: Buffer;

  constructor(keyEncryptionKey: Buffer, purpose: string) {
    if (keyEncryptionKey.length !== 32) throw new Error('the key-encryption key must be 32 bytes');
    const keys = Buffer.from(hkdfSync('sha256', keyEncryptionKey, 'roomgate', purpose, 64));
    this.encryptionKey = keys.subarray(0, 32);
    this.macKey = keys.subarray(32);
  }

  /** Seals `plain` for `context`, as unpadded base64url. */
  seal(context: string, plain: Buffer): string {
    const siv = this.siv(context, plain);
    return Buffer.concat([siv, this.ctr(siv, plain)]).toString('base64url');
  }

  /** Opens a value sealed for `context` with a `plainBytes`-byte plaintext; undefined if it is anything else. */
  open(context: string, sealed: string, plainBytes: number): Buffer | undefined {
    const length = Math.ceil(((SIV_BYTES + plainBytes) * 4) / 3);
    if (sealed.length !== length || !/^[A-Za-z0-9_-]+$/.test(sealed)) return undefined;
    const bytes = Buffer.from(sealed, 'base64url');
    // One spelling per value: the last character's unused bits must be zero.
    if (bytes.length !== SIV_BYTES + plainBytes || bytes.toString('base64url') !== sealed) return undefined;
    const siv = bytes.subarray(0, SIV_BYTES);
    const plain = this.ctr(siv, bytes.subarray(SIV_BYTES));
    return timingSafeEqual(siv, this.siv(context, plain)) ? plain : undefined;
  }

  private siv(context: string, plain: Buffer): Buffer {
    // The context never contains NUL, and the plaintext has a fixed length.
    return createHmac('sha256', this.macKey).update(`${context}\0`).update(plain).digest().subarray(0, SIV_BYTES);
  }

  private ctr(siv: Buffer, data: Buffer): Buffer {
    const cipher = createCipheriv('aes-256-ctr', this.encryptionKey, siv);
    return Buffer.concat([cipher.update(data), cipher.final()]);
  }
}
