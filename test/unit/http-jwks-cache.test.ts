import { describe, expect, it } from 'vitest';
import { jwksMaxAgeSeconds, MAX_JWKS_MAX_AGE_SECONDS } from '../../src/http/jwks-cache.js';
import { KEY_RELOAD_INTERVAL_MS } from '../../src/domain/signing-keys.js';

describe('jwksMaxAgeSeconds', () => {
  it('is the pre-publish period less the key reload interval (30 s) and the clock tolerance', () => {
    expect(KEY_RELOAD_INTERVAL_MS).toBe(30_000);
    expect(jwksMaxAgeSeconds({ keyPrepublishSeconds: 3600, clockToleranceSeconds: 5 })).toBe(3565);
    expect(jwksMaxAgeSeconds({ keyPrepublishSeconds: 600, clockToleranceSeconds: 0 })).toBe(570);
    expect(jwksMaxAgeSeconds({ keyPrepublishSeconds: 3600, clockToleranceSeconds: 5 }, 1_500)).toBe(3593);
  });

  it('is 0 (revalidate every time) when the pre-publish period leaves no room, and never more than a day', () => {
    expect(jwksMaxAgeSeconds({ keyPrepublishSeconds: 0, clockToleranceSeconds: 5 })).toBe(0);
    expect(jwksMaxAgeSeconds({ keyPrepublishSeconds: 35, clockToleranceSeconds: 5 })).toBe(0);
    expect(jwksMaxAgeSeconds({ keyPrepublishSeconds: 36, clockToleranceSeconds: 5 })).toBe(1);
    expect(jwksMaxAgeSeconds({ keyPrepublishSeconds: 30 * 86_400, clockToleranceSeconds: 5 })).toBe(MAX_JWKS_MAX_AGE_SECONDS);
    expect(MAX_JWKS_MAX_AGE_SECONDS).toBe(86_400);
  });

  it('lets a verifier that honours it fetch the new key before it signs, whenever its last fetch happened', () => {
    // Time 0: a rotation publishes key N on the rotating instance; it signs
    // from P on, or P - tolerance on an instance whose clock runs ahead.
    // Another instance serves N from at most the reload interval on. A
    // verifier's cached copy without N was fetched before that, and expires
    // max-age after it; its next fetch (from any instance) then has N.
    for (const [prepublish, tolerance] of [[3600, 5], [600, 0], [86_400 * 2, 300], [40, 5], [100, 60]] as const) {
      const maxAge = jwksMaxAgeSeconds({ keyPrepublishSeconds: prepublish, clockToleranceSeconds: tolerance });
      const reload = KEY_RELOAD_INTERVAL_MS / 1000;
      const signsAt = prepublish - tolerance;
      for (let fetchedAt = -2 * maxAge; fetchedAt < reload; fetchedAt += Math.max(1, maxAge / 16)) {
        const hadNewKey = fetchedAt >= reload;
        const refetchAt = fetchedAt + maxAge;
        if (!hadNewKey) expect(refetchAt, `prepublish ${prepublish}, fetched at ${fetchedAt}`).toBeLessThanOrEqual(signsAt);
      }
      // And the bound is tight: one more second would let the stalest copy outlive activation.
      if (maxAge > 0 && maxAge < 86_400) expect(reload + maxAge + 1).toBeGreaterThan(signsAt);
    }
  });
});
