import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DomainError } from './errors.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts private signing keys at rest with AES-256-GCM under the configured
 * key-encryption key. The key id is bound as additional data, so a ciphertext
 * moved to another row does not decrypt.
 */
export class KeyEncryptor {
  constructor(private readonly kek: Buffer) {
    if (kek.length !== 32) throw new Error('the key-encryption key must be 32 bytes');
  }

  /** Returns iv || ciphertext || tag. */
  encrypt(plaintext: Buffer, kid: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.kek, iv);
    cipher.setAAD(Buffer.from(kid, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]);
  }

  /** Reverses {@link encrypt}; ERR_KEY_DECRYPTION_FAILED when the KEK is wrong or the data was altered. */
  decrypt(sealed: Buffer, kid: string): Buffer {
    try {
      const iv = sealed.subarray(0, IV_BYTES);
      const tag = sealed.subarray(sealed.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', this.kek, iv);
      decipher.setAAD(Buffer.from(kid, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch (cause) {
      throw new DomainError(
        'ERR_KEY_DECRYPTION_FAILED',
        `signing key ${kid} does not decrypt: the key-encryption key (ROOMGATE_KEY_ENCRYPTION_KEY) is not the one it was stored with`,
        { cause },
      );
    }
  }
}
