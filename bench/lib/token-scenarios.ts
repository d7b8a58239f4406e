// In-process token speed: roomgate's own minting and checking code (the
// functions CreatePeer and VerifyPeerToken run), the peer's (livekit-server-sdk,
// HMAC), the crypto limit (jose's bare JWS and node:crypto, Ed25519), and the
// offline verifier of @roomgate/client/verifier against node:crypto's verify
// of the same tokens' signatures.
// Each mint phase keeps what it made; the verify phase after it checks each
// of those once, so no verification sees the same input twice.
import { randomUUID, sign, verify, generateKeyPairSync, KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, compactVerify, generateKeyPair, type CryptoKey } from 'jose';
import { AccessToken, TokenVerifier } from 'livekit-server-sdk';
import type pg from 'pg';
import { PeerTokenVerifier } from '../../src/client/verifier/index.js';
import { systemClock } from '../../src/domain/clock.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { PeerTokens, type PeerTokenSubject } from '../../src/domain/peer-token.js';
import { SigningKeyRing } from '../../src/domain/signing-keys.js';
import { createPool } from '../../src/store/pool.js';
import { PgSigningKeyStore } from '../../src/store/signing-key-store.js';
import { runAll, type Operation } from './closed-loop.js';
import { BENCH_PEER } from './roomgate-target.js';

/** The in-process scenarios: each library's mint, and the verify that checks what it minted. */
export const TOKEN_PAIRS = [
  { family: 'roomgate', mint: 'roomgate:mint', verify: 'roomgate:verify' },
  { family: 'livekit', mint: 'livekit:toJwt', verify: 'livekit:verify' },
  { family: 'jose', mint: 'jose:sign', verify: 'jose:verify' },
  { family: 'node', mint: 'node:ed25519-sign', verify: 'node:ed25519-verify' },
] as const;
/**
 * The offline verifier (@roomgate/client/verifier) and its floor: bare
 * node:crypto Ed25519 verify of the signature of the same roomgate tokens.
 * Each phase checks its own copy of one list of distinct tokens, once each.
 */
export const VERIFIER_SCENARIOS = ['node:ed25519-verify-token', 'verifier:verify'] as const;
/** A mint or verify scenario of {@link TOKEN_PAIRS}, or one of {@link VERIFIER_SCENARIOS}. */
export type TokenScenario = (typeof TOKEN_PAIRS)[number]['mint' | 'verify'] | (typeof VERIFIER_SCENARIOS)[number];
type Family = (typeof TOKEN_PAIRS)[number]['family'];

const LIVEKIT_KEY = 'APIbenchkey0001';
const LIVEKIT_SECRET = 'bench-secret-of-forty-four-characters-length';

/** The claims of a typical peer, as CreatePeer signs them. */
const SUBJECT: PeerTokenSubject = {
  environment: 'sandbox',
  roomId: randomUUID(),
  peerId: randomUUID(),
  identity: 'user-1234567',
  name: BENCH_PEER.name,
  metadata: BENCH_PEER.metadata,
  permissions: { ...BENCH_PEER.permissions },
  generation: 1,
};

/** A JWT-sized payload, different each time, for the bare signatures. */
function payload(): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ ...SUBJECT, jti: randomUUID(), exp: 1e10 }));
}

/** Keys and the outputs of the last mint phase of each library. */
export class TokenBench {
  private readonly made = {
    roomgate: [] as string[],
    livekit: [] as string[],
    jose: [] as string[],
    node: [] as Array<[Uint8Array, Buffer]>,
    forVerifier: [] as string[],
    forBare: [] as string[],
  };
  private readonly verifier = new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET);
  private readonly edKeys: { privateKey: KeyObject; publicKey: KeyObject } = generateKeyPairSync('ed25519');

  private constructor(
    private readonly pool: pg.Pool,
    private readonly ring: SigningKeyRing,
    private readonly tokens: PeerTokens,
    private readonly joseKeys: { privateKey: CryptoKey; publicKey: CryptoKey },
    private readonly offline: { verifier: PeerTokenVerifier; jwks: http.Server; publicKey: KeyObject },
  ) {}

  /**
   * Loads roomgate's signing key from the bench database the way a server
   * does (PgSigningKeyStore, decrypted with the KEK, imported once).
   */
  static async open(connectionString: string, keyEncryptionKey: Buffer, issuer: string): Promise<TokenBench> {
    const pool = createPool({ connectionString, max: 2, onError: () => undefined });
    const ring = new SigningKeyRing(new PgSigningKeyStore(pool), new KeyEncryptor(keyEncryptionKey), systemClock, {
      reloadIntervalMs: 0,
    });
    await ring.init();
    const tokens = new PeerTokens(ring, systemClock, { issuer, clockToleranceSeconds: 5 });
    // The verifier fetches the ring's JWKS over HTTP, as from roomgate's
    // listener. It runs without a feed: its revocation lookups still run on
    // every token (on empty maps), the staleness test is then constant.
    const body = JSON.stringify(ring.jwks());
    const jwks = http.createServer((_, res) => res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=300' }).end(body));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const verifier = await PeerTokenVerifier.create({
      jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`,
      issuer,
      environment: SUBJECT.environment,
    });
    const publicKey = KeyObject.from((await ring.publicKey(ring.current().kid))! as Parameters<typeof KeyObject.from>[0]);
    return new TokenBench(pool, ring, tokens, await generateKeyPair('EdDSA'), { verifier, jwks, publicKey });
  }

  /** The operation of an in-process scenario; a mint phase forgets what the previous one made. */
  operation(scenario: TokenScenario): Operation {
    const made = this.made;
    switch (scenario) {
      case 'roomgate:mint':
        made.roomgate = [];
        // What CreatePeer does for its token: a stamp, then the signature.
        return () => this.tokens.sign(SUBJECT, this.tokens.stamp(BENCH_PEER.tokenTtlSeconds)).then((t) => made.roomgate.push(t));
      case 'roomgate:verify':
        return drain(made.roomgate, (t) =>
          this.tokens.check(t).then((r) => {
            if (!r.valid) throw new Error(`roomgate token did not check: ${r.reason}`);
          }),
        );
      case 'livekit:toJwt':
        made.livekit = [];
        return () => {
          const at = new AccessToken(LIVEKIT_KEY, LIVEKIT_SECRET, {
            identity: SUBJECT.identity,
            name: SUBJECT.name,
            metadata: SUBJECT.metadata,
            ttl: BENCH_PEER.tokenTtlSeconds,
          });
          at.addGrant({ roomJoin: true, room: SUBJECT.roomId, canPublish: true, canSubscribe: true, canPublishData: true });
          return at.toJwt().then((t) => made.livekit.push(t));
        };
      case 'livekit:verify':
        return drain(made.livekit, (t) => this.verifier.verify(t));
      case 'jose:sign':
        made.jose = [];
        return () =>
          new CompactSign(payload())
            .setProtectedHeader({ alg: 'EdDSA' })
            .sign(this.joseKeys.privateKey)
            .then((t) => made.jose.push(t));
      case 'jose:verify':
        return drain(made.jose, (t) => compactVerify(t, this.joseKeys.publicKey));
      case 'node:ed25519-sign':
        made.node = [];
        return () => {
          const data = payload();
          return new Promise<void>((resolve, reject) =>
            sign(null, data, this.edKeys.privateKey, (err, signature) => {
              if (err) return reject(err);
              made.node.push([data, signature]);
              resolve();
            }),
          );
        };
      case 'verifier:verify': {
        const { verifier } = this.offline;
        return drain(made.forVerifier, (t) =>
          verifier.verify(t, { roomId: SUBJECT.roomId }).then((r) => {
            if (!r.valid) throw new Error(`the offline verifier refused a good token: ${r.reason}`);
          }),
        );
      }
      case 'node:ed25519-verify-token': {
        // The floor: the signature alone, on the same bytes, synchronously as the verifier does it.
        const { publicKey } = this.offline;
        return drain(made.forBare, (t) => {
          const dot = t.lastIndexOf('.');
          if (!verify(null, Buffer.from(t.slice(0, dot), 'latin1'), publicKey, Buffer.from(t.slice(dot + 1), 'base64url'))) {
            return Promise.reject(new Error('Ed25519 signature did not verify'));
          }
          return Promise.resolve();
        });
      }
      case 'node:ed25519-verify':
        return drain(made.node, ([data, signature]) =>
          new Promise<void>((resolve, reject) =>
            verify(null, data, this.edKeys.publicKey, signature, (err, ok) =>
              err ? reject(err) : ok ? resolve() : reject(new Error('Ed25519 signature did not verify')),
            ),
          ),
        );
    }
  }

  /**
   * Mints, unmeasured, until `family` has `count` unverified outputs: for a
   * verify phase that outran the mint phase before it and is measured again.
   */
  async fill(family: Family, count: number, concurrency: number): Promise<void> {
    const mint = this.operation(TOKEN_PAIRS.find((p) => p.family === family)!.mint);
    await runAll(count, concurrency, mint);
  }

  /** Mints `count` distinct roomgate tokens, unmeasured, for both {@link VERIFIER_SCENARIOS} (each its own copy). */
  async fillVerifier(count: number, concurrency: number): Promise<void> {
    const minted: string[] = [];
    await runAll(count, concurrency, () => this.tokens.sign(SUBJECT, this.tokens.stamp(BENCH_PEER.tokenTtlSeconds)).then((t) => minted.push(t)));
    this.made.forVerifier = minted;
    this.made.forBare = [...minted];
  }

  /** Ends the pool, the verifier and its JWKS server. */
  async close(): Promise<void> {
    await this.offline.verifier.close();
    this.offline.jwks.close();
    this.ring.stop();
    await this.pool.end();
  }
}

/** An operation that checks each of `inputs` once, in order, and then reports exhaustion. */
function drain<T>(inputs: T[], check: (input: T) => Promise<unknown>): Operation {
  let next = 0;
  return () => (next < inputs.length ? check(inputs[next++]!) : false);
}
