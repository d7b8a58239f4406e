import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { importJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';
import type { Clock } from './clock.js';
import type { KeyEncryptor } from './key-encryption.js';
import { PEER_TOKEN_ALGORITHM } from './peer-token-rules.js';
import type { SigningKeyInfo, SigningKeyRecord } from './records.js';
import type { NewSigningKey, SigningKeyStore } from './ports/index.js';

/** The JWS algorithm of every peer token (defined with the token rules). Verification accepts nothing else. */
export { PEER_TOKEN_ALGORITHM };

/** The public facts of a key, which decide its state. */
type KeyFacts = Pick<SigningKeyRecord, 'kid' | 'algorithm' | 'createdAt' | 'activatedAt' | 'retiredAt'>;

interface LoadedKey extends KeyFacts {
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

/** How often an unknown `kid` may trigger a reload from the database. */
const UNKNOWN_KID_RELOAD_MS = 1_000;

/**
 * Milliseconds between a ring's background reloads by default: the longest a
 * new key can take to reach an instance whose NOTIFY connection is down.
 */
export const KEY_RELOAD_INTERVAL_MS = 30_000;

/** Options of {@link SigningKeyRing}. */
export interface SigningKeyRingOptions {
  /** Milliseconds between background reloads once init() has run; 0 turns them off. Default {@link KEY_RELOAD_INTERVAL_MS}. */
  reloadIntervalMs?: number;
  /** Told about a background reload that failed; the ring keeps the keys it has and tries again later. */
  onReloadError?: (err: unknown) => void;
}

function isLive(key: KeyFacts, now: Date): boolean {
  return key.retiredAt === null || key.retiredAt.getTime() > now.getTime();
}

/**
 * The keys not retired at `now`, newest activation first, each with its state.
 * The key that signs is the one activated last at or before `now`; ties go to
 * the later-created key, then the greater kid, so every instance agrees.
 */
function withStates<K extends KeyFacts>(keys: Iterable<K>, now: Date): Array<{ key: K; state: SigningKeyInfo['state'] }> {
  const live = [...keys]
    .filter((k) => isLive(k, now))
    .sort(
      (a, b) =>
        b.activatedAt.getTime() - a.activatedAt.getTime() ||
        b.createdAt.getTime() - a.createdAt.getTime() ||
        (a.kid < b.kid ? 1 : -1),
    );
  let current = live.findIndex((k) => k.activatedAt.getTime() <= now.getTime());
  // Nothing has activated by this clock only when it lags the instance that
  // created the first key; the oldest key signs then, never a pre-published one.
  if (current < 0) current = live.length - 1;
  return live.map((key, i) => ({ key, state: i < current ? 'next' : i === current ? 'current' : 'previous' }));
}

/** The published keys at `now` (next, current and previous), newest activation first. */
export function describeSigningKeys(records: SigningKeyRecord[], now: Date): SigningKeyInfo[] {
  return withStates(records, now).map(({ key, state }) => ({
    kid: key.kid,
    algorithm: key.algorithm,
    state,
    createdAt: key.createdAt,
    activatedAt: key.activatedAt,
    retiredAt: key.retiredAt,
  }));
}

/**
 * The signing keys shared by all instances through Postgres. Which key signs
 * and which keys verify follows from the stored activation and retirement
 * times and the clock alone, so a pre-published key starts signing on every
 * instance at the same moment without a reload. Keys are imported once into
 * CryptoKey objects (importing per call costs more than signing). New keys
 * arrive by {@link reload} (called on a rotation's NOTIFY), by a periodic
 * reload, and by a rate-limited reload when a token names an unknown `kid`.
 */
export class SigningKeyRing {
  private keys = new Map<string, LoadedKey>();
  private lastUnknownKidReload = Number.NEGATIVE_INFINITY;
  private queued: Promise<void> | undefined;
  private tail: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: SigningKeyStore,
    private readonly encryptor: KeyEncryptor,
    private readonly clock: Clock,
    private readonly options: SigningKeyRingOptions = {},
  ) {}

  /** Loads the keys, creating the first one if the database has none, and starts the periodic reload. */
  async init(): Promise<void> {
    const now = this.clock.now();
    const existing = await this.store.listUsable(now);
    await this.load(existing.length > 0 ? existing : await this.store.ensureActive(this.generateKey(), now));
    const interval = this.options.reloadIntervalMs ?? KEY_RELOAD_INTERVAL_MS;
    if (interval > 0 && !this.timer) {
      const onError = this.options.onReloadError ?? (() => undefined);
      this.timer = setInterval(() => this.reload().catch(onError), interval);
      this.timer.unref();
    }
  }

  /** Stops the periodic reload. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Reads the keys from the database again. Calls while one reload waits to
   * start share it; a call during a running reload queues a fresh one, so a
   * key committed just before the call is always seen.
   */
  reload(): Promise<void> {
    if (!this.queued) {
      const run = this.tail.then(async () => {
        this.queued = undefined;
        await this.load(await this.store.listUsable(this.clock.now()));
      });
      this.queued = run;
      this.tail = run.catch(() => undefined);
    }
    return this.queued;
  }

  /** The key new tokens are signed with now. */
  current(): { kid: string; privateKey: CryptoKey } {
    const current = withStates(this.keys.values(), this.clock.now()).find((k) => k.state === 'current');
    if (!current) throw new Error('signing keys are not loaded; call init() first');
    return { kid: current.key.kid, privateKey: current.key.privateKey };
  }

  /** The public key for `kid` unless it is retired, reloading once if it is unknown here. */
  async publicKey(kid: string): Promise<CryptoKey | undefined> {
    if (!this.keys.has(kid)) {
      const now = this.clock.now().getTime();
      if (now - this.lastUnknownKidReload >= UNKNOWN_KID_RELOAD_MS) {
        this.lastUnknownKidReload = now;
        await this.reload();
      } else {
        await this.tail;
      }
    }
    return this.live(kid)?.publicKey;
  }

  /** The private key for `kid`, if this instance holds it and it is not retired (to re-sign an idempotent replay). */
  privateKey(kid: string): CryptoKey | undefined {
    return this.live(kid)?.privateKey;
  }

  /** The JSON Web Key Set of the next, current and previous keys. */
  jwks(): { keys: JWK[] } {
    return { keys: withStates(this.keys.values(), this.clock.now()).map(({ key }) => key.publicJwk) };
  }

  /** A new Ed25519 key pair, its private half encrypted under the KEK with the kid bound. */
  generateKey(): NewSigningKey {
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

  private live(kid: string): LoadedKey | undefined {
    const key = this.keys.get(kid);
    return key && isLive(key, this.clock.now()) ? key : undefined;
  }

  private async load(records: SigningKeyRecord[]): Promise<void> {
    const loaded = await Promise.all(
      records.map(async (r): Promise<LoadedKey> => {
        const cached = this.keys.get(r.kid);
        // Times are taken from the fresh row: a rotation sets the old key's retirement.
        const { kid, algorithm, createdAt, activatedAt, retiredAt } = r;
        const facts = { kid, algorithm, createdAt, activatedAt, retiredAt };
        if (cached) return { ...cached, ...facts };
        const pem = this.encryptor.decrypt(r.privateKeyEncrypted, r.kid).toString('utf8');
        const publicJwk = r.publicJwk as JWK;
        return {
          ...facts,
          publicJwk,
          publicKey: (await importJWK(publicJwk, PEER_TOKEN_ALGORITHM)) as CryptoKey,
          privateKey: await importPKCS8(pem, PEER_TOKEN_ALGORITHM),
        };
      }),
    );
    this.keys = new Map(loaded.map((k) => [k.kid, k]));
  }
}
