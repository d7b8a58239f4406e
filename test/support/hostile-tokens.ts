// Hand-built and forged credentials for hostile-input tests.
//
// roomgate's own signer (PeerTokens) only makes well-formed peer tokens. These
// helpers build any header, any payload bytes and any signature, and can sign
// with the server's REAL private key, read from the test database and
// decrypted with the KEK. A token that is refused although the real key
// signed it is refused for what it says, not merely for a bad signature; and
// re-signing a real token's own header and claims must give that token back
// byte for byte, which shows the forging itself is faithful.
import { createHmac, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { JWK } from 'jose';
import type pg from 'pg';
import { systemClock, ManualClock } from '../../src/domain/clock.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { PeerTokens, type PeerTokenSubject } from '../../src/domain/peer-token.js';
import { SigningKeyRing } from '../../src/domain/signing-keys.js';
import { PgSigningKeyStore } from '../../src/store/signing-key-store.js';

/** base64url without padding, as JWS uses it. */
export const b64url = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

/** A JWS segment: objects and arrays as JSON, strings and bytes as they are. */
export function segment(value: unknown): string {
  return typeof value === 'string' || value instanceof Uint8Array ? b64url(value) : b64url(JSON.stringify(value));
}

/** What signs a forged token: an asymmetric private key, or an HMAC secret for HS*. */
export type ForgingKey = KeyObject | Buffer;

/** Signs `headerSegment.payloadSegment` as `alg` would; any other alg gets an empty signature. */
export function signSegments(alg: unknown, key: ForgingKey, headerSegment: string, payloadSegment: string): string {
  const input = Buffer.from(`${headerSegment}.${payloadSegment}`, 'ascii');
  let signature: Buffer;
  if (alg === 'EdDSA' || alg === 'Ed25519') signature = sign(null, input, key as KeyObject);
  else if (alg === 'ES256') signature = sign('sha256', input, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  else if (alg === 'RS256') signature = sign('sha256', input, key as KeyObject);
  else if (alg === 'HS256' || alg === 'HS512') {
    signature = createHmac(alg === 'HS256' ? 'sha256' : 'sha512', key as Buffer).update(input).digest();
  } else signature = Buffer.alloc(0);
  return `${headerSegment}.${payloadSegment}.${b64url(signature)}`;
}

/** A compact JWS of any header and payload, signed with `key` under the header's own `alg`. */
export function forgeJws(header: Record<string, unknown>, payload: unknown, key: ForgingKey): string {
  return signSegments(header.alg, key, segment(header), segment(payload));
}

/** `token` with one bit of its decoded signature flipped (not a padding bit of the last character). */
export function flipSignatureBit(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const signature = Buffer.from(s, 'base64url');
  signature[10]! ^= 0x01;
  return `${h}.${p}.${b64url(signature)}`;
}

/** A signing key of the server, decrypted. */
export interface ServerSigningKey {
  kid: string;
  publicJwk: JWK & { x: string };
  /** The PKCS#8 PEM that is stored encrypted. */
  pem: string;
  privateKey: KeyObject;
  /** The encrypted form as stored in signing_keys.private_key_encrypted. */
  encrypted: Buffer;
}

/** Every signing key in the database, decrypted with the KEK, newest first. */
export async function readServerSigningKeys(pool: pg.Pool, kek: Buffer): Promise<ServerSigningKey[]> {
  const encryptor = new KeyEncryptor(kek);
  const { rows } = await pool.query<{ kid: string; public_jwk: JWK & { x: string }; private_key_encrypted: Buffer }>(
    'SELECT kid, public_jwk, private_key_encrypted FROM signing_keys ORDER BY created_at DESC, kid',
  );
  return rows.map((r) => {
    const pem = encryptor.decrypt(r.private_key_encrypted, r.kid).toString('utf8');
    return { kid: r.kid, publicJwk: r.public_jwk, pem, privateKey: createPrivateKey(pem), encrypted: r.private_key_encrypted };
  });
}

/**
 * Signs well-formed peer tokens with the server's real key at any time, with
 * roomgate's own PeerTokens and a ManualClock: `at(seconds)` issues a token
 * whose iat and nbf are `seconds` (epoch) and whose exp is `seconds + ttl`.
 */
export async function realPeerTokenSigner(pool: pg.Pool, kek: Buffer, issuer: string) {
  const ring = new SigningKeyRing(new PgSigningKeyStore(pool), new KeyEncryptor(kek), systemClock, { reloadIntervalMs: 0 });
  await ring.init();
  return (subject: PeerTokenSubject, issuedAtSeconds: number, ttlSeconds: number): Promise<string> => {
    // The tolerance matters only to check(), which this signer never calls.
    const tokens = new PeerTokens(ring, new ManualClock(new Date(issuedAtSeconds * 1000)), { issuer, clockToleranceSeconds: 0 });
    return tokens.sign(subject, tokens.stamp(ttlSeconds));
  };
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `prefix + body` with the 6-character base62 CRC32 that roomgate's format ends with. */
export function withManagementChecksum(prefix: string, body: string): string {
  let sum = '';
  for (let v = crc32(prefix + body); v > 0; v = Math.floor(v / 62)) sum = BASE62[v % 62] + sum;
  return prefix + body + sum.padStart(6, '0');
}
