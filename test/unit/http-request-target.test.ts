import { describe, expect, it } from 'vitest';
import { parseRequestTarget } from '../../src/http/request-target.js';

describe('parseRequestTarget', () => {
  it('gives the path exactly as sent and the query apart', () => {
    expect(parseRequestTarget('/.well-known/jwks.json')).toEqual({ path: '/.well-known/jwks.json', query: '' });
    expect(parseRequestTarget('/healthz?probe=1&x=%2e')).toEqual({ path: '/healthz', query: 'probe=1&x=%2e' });
    expect(parseRequestTarget('/a%20b/')).toEqual({ path: '/a%20b/', query: '' });
    expect(parseRequestTarget('/')).toEqual({ path: '/', query: '' });
  });

  it('takes the path of an absolute-form target and ignores its authority', () => {
    expect(parseRequestTarget('http://example.com/healthz?x')).toEqual({ path: '/healthz', query: 'x' });
    expect(parseRequestTarget('HTTPS://example.com:8443/readyz')).toEqual({ path: '/readyz', query: '' });
    expect(parseRequestTarget('http://example.com')).toEqual({ path: '/', query: '' });
    expect(parseRequestTarget('http://example.com?x')).toEqual({ path: '/', query: 'x' });
  });

  it('refuses other forms, fragments and every other spelling of a path', () => {
    for (const target of [
      undefined,
      '',
      '*',
      'example.com:443',
      'healthz',
      'ftp://example.com/healthz',
      '/healthz#x',
      '//healthz',
      '/a//b',
      '/.',
      '/./healthz',
      '/..',
      '/a/..',
      '/a/../healthz',
      '/%2e%2e/healthz',
      '/%2E/healthz',
      '/a%2fb',
      '/a%2Fb',
      '/a%5cb',
      '/a\\b',
      '/a%00',
      '/%',
      '/%4',
      '/%g0',
      '/a b',
      '/a\u00e9',
      '/a"b',
      '/a<b>',
      'http://example.com//healthz',
      'http://example.com/../healthz',
    ]) {
      expect(parseRequestTarget(target), String(target)).toHaveProperty('refused');
    }
  });

  it('allows dots inside segments and percent escapes of other characters', () => {
    expect(parseRequestTarget('/.well-known/jwks.json')).not.toHaveProperty('refused');
    expect(parseRequestTarget('/a..b/...')).toEqual({ path: '/a..b/...', query: '' });
    expect(parseRequestTarget('/%41')).toEqual({ path: '/%41', query: '' });
  });
});
