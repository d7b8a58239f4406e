import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { importJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';
import type { Clock } from './clock.js';
import type { KeyEncryptor } from './key-encryption.js';
import type { SigningKeyRecord } from './records.js';
import type { SigningKeyStore } from './stores.js';

/** The JWS algorithm of every peer token. Verification accepts nothing else. */
export const PEER_TOKEN_ALGORITHM = 'EdDSA';

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

/** How often an unknown `kid` may trigger a reload from the database. */
const RELOAD_INTERVAL_MS = 1_000;

/**
 * The signing keys shared by all instances through Postgres. Keys are imported
 * once into CryptoKey objects (importing per call costs more than signing). A
 * token signed with a key this instance has not seen yet, such as one another
 * instance just created, triggers a rate-limited reload.
 */
export class SigningKeyRing {
  private keys = new Map<string, LoadedKey>();
  private active: LoadedKey | undefined;
  private lastReload = 0;
  private reloading: Promise<void> | undefined;

  constructor(
    private readonly store: SigningKeyStore,
    private readonly encryptor: KeyEncryptor,
    private readonly clock: Clock,
  ) {}

  /** Loads the keys, creating the first one if the database has none. */
  async init(): Promise<void> {
    const existing = await this.store.listUsable();
    const records = existing.some((k) => k.activatedAt) ? existing : await this.store.ensureActive(this.generate());
    await this.load(records);
  }

  /** The key new tokens are signed with. */
  current(): { kid: string; privateKey: CryptoKey } {
    if (!this.active) throw new Error('signing keys are not loaded; call init() first');
    return this.active;
  }

  /** The public key for `kid`, reloading once if it is unknown here. */
  async publicKey(kid: string): Promise<CryptoKey | undefined> {
    const known = this.keys.get(kid);
    if (known) return known.publicKey;
    const now = this.clock.now().getTime();
    if (now - this.lastReload >= RELOAD_INTERVAL_MS) {
      this.lastReload = now;
      this.reloading ??= this.store
        .listUsable()
        .then((records) => this.load(records))
        .finally(() => (this.reloading = undefined));
    }
    await this.reloading;
    return this.keys.get(kid)?.publicKey;
  }

  /** The private key for `kid`, if this instance holds it (to re-sign an idempotent replay). */
  privateKey(kid: string): CryptoKey | undefined {
    return this.keys.get(kid)?.privateKey;
  }

  /** The JSON Web Key Set of every usable key. */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.keys.values()].map((k) => k.publicJwk) };
  }

  private generate(): Omit<SigningKeyRecord, 'createdAt' | 'activatedAt'> {
    const kid = randomBytes(12).toString('base64url');
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    return {
      kid,
      algorithm: PEER_TOKEN_ALGORITHM,
      publicJwk: { ...jwk, kid, alg: PEER_TOKEN_ALGORITHM, use: 'sig' },
      privateKeyEncrypted: this.encryptor.encrypt(Buffer.from(pem, 'utf8'), kid),
    };
  }

  private async load(records: SigningKeyRecord[]): Promise<void> {
    const loaded = await Promise.all(
      records.map(async (r): Promise<[LoadedKey, SigningKeyRecord]> => {
        const cached = this.keys.get(r.kid);
        if (cached) return [cached, r];
        const pem = this.encryptor.decrypt(r.privateKeyEncrypted, r.kid).toString('utf8');
        const publicJwk = r.publicJwk as JWK;
        return [
          {
            kid: r.kid,
            publicJwk,
            publicKey: (await importJWK(publicJwk, PEER_TOKEN_ALGORITHM)) as CryptoKey,
            privateKey: await importPKCS8(pem, PEER_TOKEN_ALGORITHM),
          },
          r,
        ];
      }),
    );
    this.keys = new Map(loaded.map(([k]) => [k.kid, k]));
    // listUsable orders by activation, newest first: the first activated key signs.
    const activeRecord = loaded.find(([, r]) => r.activatedAt);
    this.active = activeRecord?.[0] ?? this.active;
  }
}
