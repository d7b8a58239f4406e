// The allowed app URLs' rules (exact strings, so canonical form only) and the
// join page's path helpers: what may be a code, and what of a path is logged.
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { MAX_APP_URLS, validateAppUrls } from '../../src/domain/join-settings.js';
import { isJoinCodeSegment, loggablePath } from '../../src/http/join-page-routes.js';

const F = 'settings.app_urls';

function refusal(urls: string[]): DomainError {
  try {
    validateAppUrls(F, urls);
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(urls)}`);
}

describe('validateAppUrls', () => {
  it('accepts canonical https URLs, and http on loopback hosts only, keeping order', () => {
    const urls = [
      'https://app.example.com/join',
      'https://app.example.com/',
      'https://app.example.com:8443/room?tenant=a',
      'http://localhost:5173/app',
      'http://127.0.0.1:8000/',
      'http://[::1]:3000/x',
    ];
    expect(validateAppUrls(F, urls)).toEqual(urls);
    expect(validateAppUrls(F, [])).toEqual([]);
  });

  it.each([
    ['', /is empty/],
    ['app.example.com/join', /not an absolute URL/],
    ['/join', /not an absolute URL/],
    ['http://app.example.com/join', /must use https \(http is allowed only for localhost, 127\.0\.0\.1 and \[::1\]\)/],
    ['http://localhost.example.com/', /must use https/],
    ['http://10.0.0.1/', /must use https/],
    ['javascript:alert(1)', /must use https, not javascript/],
    ['data:text/html,hi', /must use https, not data/],
    ['ftp://files.example.com/', /must use https, not ftp/],
    ['https://app.example.com/join#x', /must not have a fragment/],
    ['https://app.example.com/join#', /must not have a fragment/],
    ['https://user:pw@app.example.com/', /must not contain a user name or password/],
    ['https://user@app.example.com/', /must not contain a user name or password/],
    ['https://APP.example.com/join', /canonical form, which is "https:\/\/app\.example\.com\/join"/],
    ['https://app.example.com', /canonical form, which is "https:\/\/app\.example\.com\/"/],
    ['https://app.example.com:443/x', /canonical form, which is "https:\/\/app\.example\.com\/x"/],
    ['https://app.example.com/a/../b', /canonical form, which is "https:\/\/app\.example\.com\/b"/],
    ['https://app.example.com/ä', /canonical form, which is "https:\/\/app\.example\.com\/%C3%A4"/],
    ['https://bücher.example/', /canonical form, which is "https:\/\/xn--bcher-kva\.example\/"/],
    [' https://app.example.com/', /canonical form/],
    ['https://app.example.com/\tx', /canonical form/],
    [`https://app.example.com/${'a'.repeat(2048)}`, /is 2072 characters; the limit is 2048/],
  ])('refuses case %#, naming its index', (url, problem) => {
    const err = refusal(['https://ok.example.com/', url]);
    expect(err.code).toBe('ERR_INVALID_ARGUMENT');
    expect(err.field).toBe(`${F}[1]`);
    expect(err.message.startsWith(`${F}[1]: `)).toBe(true);
    expect(err.message).toMatch(problem);
  });

  it('gives the canonical form as data too', () => {
    expect(refusal(['https://Example.com']).metadata).toEqual({ canonical: 'https://example.com/' });
  });

  it('refuses a repeated URL, naming both places', () => {
    const err = refusal(['https://a.example/', 'https://b.example/', 'https://a.example/']);
    expect(err.field).toBe(`${F}[2]`);
    expect(err.message).toBe(`${F}[2]: repeats ${F}[0]`);
  });

  it(`refuses more than ${MAX_APP_URLS} URLs`, () => {
    const many = Array.from({ length: MAX_APP_URLS + 1 }, (_, i) => `https://app${i}.example/`);
    expect(validateAppUrls(F, many.slice(0, MAX_APP_URLS))).toHaveLength(MAX_APP_URLS);
    expect(refusal(many).message).toBe(`${F}: has 21 URLs; the limit is 20`);
  });
});

describe('join page paths', () => {
  it('takes link and short codes, and nothing else, as a code segment', () => {
    for (const ok of ['abc-defg-hij', 'ABCDEFGHIJ', 'rgj_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA', 'a'.repeat(128)]) expect(isJoinCodeSegment(ok)).toBe(true);
    for (const bad of ['', 'abc', 'a'.repeat(129), 'abc.defghi', 'abc%2Fdefg', 'abc/defghi', "abcdef'gh", 'abcdef~gh', 'abcdéfghi']) {
      expect(isJoinCodeSegment(bad)).toBe(false);
    }
  });

  it('redacts the code of a join path and drops every query from what is logged', () => {
    expect(loggablePath('/join/abc-defg-hij')).toBe('/join/<redacted>');
    expect(loggablePath('/join/abc-defg-hij?app=https://evil.example/')).toBe('/join/<redacted>');
    expect(loggablePath('http://roomgate.example/join/SECRETCODE')).toBe('/join/<redacted>');
    expect(loggablePath('/console/?x=1')).toBe('/console/');
    expect(loggablePath(undefined)).toBe('');
  });
});
