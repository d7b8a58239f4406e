import { invalidArgument } from './errors.js';

/** Most allowed app URLs an environment may have (JoinSettings.app_urls). */
export const MAX_APP_URLS = 20;
/** Longest allowed app URL, in characters. */
export const MAX_APP_URL_LENGTH = 2048;

/** Hosts an app URL may name over plain http: the developer's own machine. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An environment's join settings, as stored. */
export interface JoinSettings {
  /** Where the join page may hand peer tokens on, in order; the first is the default. */
  appUrls: string[];
}

/**
 * Checks an environment's new app URLs, each exactly as it will be compared:
 * join codes name an app URL and redemption finds it in the list by exact
 * string, so nothing is normalized here. A URL that is not already in the
 * WHATWG URL parser's canonical form is refused with that form in the
 * message, rather than silently stored as something the caller did not send.
 */
export function validateAppUrls(field: string, urls: readonly string[]): string[] {
  if (urls.length > MAX_APP_URLS) {
    throw invalidArgument(field, `has ${urls.length} URLs; the limit is ${MAX_APP_URLS}`);
  }
  const seen = new Map<string, number>();
  urls.forEach((url, i) => {
    const at = `${field}[${i}]`;
    checkAppUrl(at, url);
    const first = seen.get(url);
    if (first !== undefined) throw invalidArgument(at, `repeats ${field}[${first}]`);
    seen.set(url, i);
  });
  return [...urls];
}

/** Checks one app URL; see {@link validateAppUrls}. */
function checkAppUrl(at: string, url: string): void {
  if (url === '') throw invalidArgument(at, 'is empty; give an absolute https URL such as https://app.example.com/join');
  if (url.length > MAX_APP_URL_LENGTH) {
    throw invalidArgument(at, `is ${url.length} characters; the limit is ${MAX_APP_URL_LENGTH}`);
  }
  // The join page appends the token as the fragment; a URL with one of its own would be ambiguous.
  if (url.includes('#')) throw invalidArgument(at, 'must not have a fragment (#...): the join page puts the peer token there');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidArgument(at, 'is not an absolute URL; give one such as https://app.example.com/join');
  }
  if (parsed.protocol === 'http:') {
    if (!LOOPBACK_HOSTS.has(parsed.hostname)) {
      throw invalidArgument(at, 'must use https (http is allowed only for localhost, 127.0.0.1 and [::1])');
    }
  } else if (parsed.protocol !== 'https:') {
    throw invalidArgument(at, `must use https, not ${parsed.protocol.replace(/:$/, '')}`);
  }
  // A token handed to user:pass@host would reach whoever the credentials name, and they have no place in an allow-list.
  if (parsed.username !== '' || parsed.password !== '') throw invalidArgument(at, 'must not contain a user name or password');
  if (parsed.href !== url) {
    throw invalidArgument(at, `must be written in canonical form, which is ${JSON.stringify(parsed.href)}`, { canonical: parsed.href });
  }
}
