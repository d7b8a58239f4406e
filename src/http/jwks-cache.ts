import { KEY_RELOAD_INTERVAL_MS } from '../domain/signing-keys.js';

/** The longest the JWKS may be cached, whatever the pre-publish period: one day. */
export const MAX_JWKS_MAX_AGE_SECONDS = 86_400;

/**
 * How long a verifier may cache the JWKS (Cache-Control max-age) and still
 * hold every key before it signs.
 *
 * A rotation publishes the new key at once and it starts signing
 * `keyPrepublishSeconds` later (SigningKeyManager.rotate). Another instance
 * serves the new key within `reloadIntervalMs` (NOTIFY makes it near
 * immediate; the periodic reload is the bound when NOTIFY is lost), and an
 * instance whose clock runs up to `clockToleranceSeconds` ahead starts
 * signing that much early. So the last copy without the new key is fetched
 * before publish + reload interval, and must expire before activation − clock
 * skew:
 *
 *   max-age = prepublish − reload interval − clock tolerance
 *
 * floored at 0 (revalidate every time) and capped at a day. A rotation asked
 * for with a shorter pre-publish period than the configured one (an emergency
 * rotation, prepublish 0) is not covered: verifiers then find the new key by
 * re-fetching on an unknown kid, as jose and PyJWKClient do.
 */
export function jwksMaxAgeSeconds(
  config: { keyPrepublishSeconds: number; clockToleranceSeconds: number },
  reloadIntervalMs: number = KEY_RELOAD_INTERVAL_MS,
): number {
  const seconds = config.keyPrepublishSeconds - Math.ceil(reloadIntervalMs / 1000) - config.clockToleranceSeconds;
  return Math.min(MAX_JWKS_MAX_AGE_SECONDS, Math.max(0, Math.floor(seconds)));
}
