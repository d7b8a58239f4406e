// One roomgate process's share of signing keys, for rotation tests: a key ring
// with its own cache, a token signer and a SigningKeyManager over whatever
// store the test shares between such instances (in memory for unit tests,
// Postgres for integration tests). Background reloads are off, so a test
// decides when an instance reloads.
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import type { Clock } from '../../src/domain/clock.js';
import type { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import { PeerTokens, type PeerTokenSubject } from '../../src/domain/peer-token.js';
import type { ManagementPrincipal } from '../../src/domain/principal.js';
import { rotationTiming, SigningKeyManager } from '../../src/domain/signing-key-manager.js';
import { SigningKeyRing } from '../../src/domain/signing-keys.js';
import type { SigningKeyStore } from '../../src/domain/ports/index.js';

/** Clock tolerance of the test instances, in seconds. */
export const TOLERANCE = 5;
/** Default pre-publish period of the test instances, in seconds. */
export const PREPUBLISH = 3600;
/** Longest token lifetime plus clock tolerance: how long a replaced key keeps verifying. */
export const RETIRE_AFTER = DEFAULT_LIMITS.maxTokenTtlSeconds + TOLERANCE;

/** An admin management principal. */
export const ADMIN: ManagementPrincipal = { kind: 'management', environment: 'sandbox', tokenId: 'admin', scopes: ['admin'] };

/** The peer every test token is about. */
export const SUBJECT: PeerTokenSubject = {
  environment: 'sandbox',
  roomId: randomUUID(),
  peerId: randomUUID(),
  identity: 'user-1',
  name: '',
  metadata: '{}',
  permissions: {
    canPublish: true,
    canSubscribe: true,
    canUpdateMetadata: false,
    canUpdateRoom: false,
    canRemoveParticipants: false,
  },
  generation: 1,
};

/** Starts one instance on `store`; rejects as roomgate's start would (a wrong KEK, for one). */
export async function keyInstance(store: SigningKeyStore, encryptor: KeyEncryptor, clock: Clock) {
  const ring = new SigningKeyRing(store, encryptor, clock, { reloadIntervalMs: 0 });
  await ring.init();
  const tokens = new PeerTokens(ring, clock, { issuer: 'roomgate-test', clockToleranceSeconds: TOLERANCE });
  const timing = rotationTiming({ keyPrepublishSeconds: PREPUBLISH, clockToleranceSeconds: TOLERANCE, limits: DEFAULT_LIMITS });
  const manager = new SigningKeyManager(ring, store, clock, timing);
  return { ring, tokens, manager, sign: (ttl = 600) => tokens.sign(SUBJECT, tokens.stamp(ttl)) };
}

/** The key ids in a ring's JWKS, in its order. */
export const jwksKids = (ring: SigningKeyRing): unknown[] => ring.jwks().keys.map((k) => k.kid);

/** The `kid` header of a token. */
export const kidOf = (token: string): unknown => decodeProtectedHeader(token).kid;
