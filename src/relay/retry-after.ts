/**
 * Parses a Retry-After header, either delay-seconds or an HTTP date, into a
 * delay from `now`; undefined when absent or malformed. A date in the past
 * means "now".
 */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only the IMF-fixdate form and its obsolete relatives parse; a bare number
  // with a sign or a fraction is malformed, not a date.
  if (!/[A-Za-z]/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}
