import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Environment } from './principal.js';

// Format, after GitHub's and Stripe's keys: a visible environment prefix, 256
// bits of randomness in base62, and a 6-character base62 CRC32 of everything
// before it. The checksum lets us reject typos and truncations without a
// database lookup; it is not a security feature (the randomness is).
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 43; // ceil(256 / log2(62))
const CHECKSUM_LENGTH = 6;
const PREFIXES: Record<Environment, string> = { sandbox: 'rg_sandbox_', production: 'rg_live_' };

/** Every management token starts with this. */
export const MANAGEMENT_TOKEN_MARK = 'rg_';

function base62(value: bigint, length: number): string {
  let out = '';
  for (let v = value; v > 0n; v /= 62n) out = BASE62[Number(v % 62n)] + out;
  return out.padStart(length, '0');
}

function checksum(payload: string): string {
  return base62(BigInt(crc32(payload)), CHECKSUM_LENGTH);
}

/** A newly minted management token: the secret (shown once) and what is stored. */
export interface MintedManagementToken {
  token: string;
  hash: Buffer;
  hint: string;
}

/** Mints a management token for `environment`. */
export function mintManagementToken(environment: Environment): MintedManagementToken {
  const body = base62(BigInt('0x' + randomBytes(32).toString('hex')), BODY_LENGTH);
  const payload = PREFIXES[environment] + body;
  const token = payload + checksum(payload);
  return { token, hash: hashManagementToken(token), hint: managementTokenHint(token) };
}

/**
 * Parses a management token without any I/O: returns its environment when the
 * prefix, alphabet, length and checksum are right, and undefined otherwise.
 */
export function parseManagementToken(token: string): Environment | undefined {
  for (const [environment, prefix] of Object.entries(PREFIXES) as [Environment, string][]) {
    if (!token.startsWith(prefix)) continue;
    if (token.length !== prefix.length + BODY_LENGTH + CHECKSUM_LENGTH) return undefined;
    const payload = token.slice(0, -CHECKSUM_LENGTH);
    if (!/^[0-9A-Za-z]+$/.test(token.slice(prefix.length))) return undefined;
    return checksum(payload) === token.slice(-CHECKSUM_LENGTH) ? environment : undefined;
  }
  return undefined;
}

/** SHA-256 of the token: the only form in which it is stored. */
export function hashManagementToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A display hint such as `rg_live_…a1B2`, safe for listings and logs. */
export function managementTokenHint(token: string): string {
  const prefix = token.startsWith(PREFIXES.production) ? PREFIXES.production : PREFIXES.sandbox;
  return `${prefix}…${token.slice(-4)}`;
}
