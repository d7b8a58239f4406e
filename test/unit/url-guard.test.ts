import { describe, expect, it } from 'vitest';
import { classifyAddress, UrlGuard, type Resolver } from '../../src/domain/url-guard.js';

describe('classifyAddress', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.10.10', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fc00::1', 'private'],
    ['fdff:ffff::1', 'private'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['ff02::1', 'multicast'],
    // IPv4 inside IPv6: mapped (both spellings), compatible, NAT64 and 6to4.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['2002:c0a8:0101::1', 'private'],
    ['[::1]', 'loopback'],
    ['not-an-ip', 'reserved'],
  ])('%s is %s', (ip, kind) => {
    expect(classifyAddress(ip)).toBe(kind);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '169.253.255.255',
    '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '64:ff9b::808:808', 'fbff::1', '2a00::1'])(
    '%s is public',
    (ip) => {
      expect(classifyAddress(ip)).toBeUndefined();
    },
  );
});

const resolverOf =
  (table: Record<string, string[]>): Resolver =>
  async (host) => {
    const found = table[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found;
  };

describe('UrlGuard', () => {
  const resolver = resolverOf({
    'hooks.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'sneaky.example.com': ['93.184.215.14', '127.0.0.1'],
    'metadata.example.com': ['169.254.169.254'],
  });

  it('returns every address of a public host', async () => {
    const guard = new UrlGuard(resolver, { allowPrivateNetworks: false });
    expect(await guard.vet('hooks.example.com')).toEqual({
      ok: true,
      addresses: ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    });
  });

  it('refuses a host when any one of its addresses is private', async () => {
    const guard = new UrlGuard(resolver, { allowPrivateNetworks: false });
    expect(await guard.vet('sneaky.example.com')).toEqual({ ok: false, reason: 'refused', address: '127.0.0.1', kind: 'loopback' });
    expect(await guard.vet('metadata.example.com')).toMatchObject({ ok: false, kind: 'metadata' });
  });

  it('checks IP literals without resolving them, IPv6 in brackets too', async () => {
    const guard = new UrlGuard(() => Promise.reject(new Error('must not resolve')), { allowPrivateNetworks: false });
    expect(await guard.vet('127.0.0.1')).toMatchObject({ ok: false, kind: 'loopback' });
    expect(await guard.vet('[::ffff:7f00:1]')).toMatchObject({ ok: false, kind: 'loopback' });
    expect(await guard.vet('[fd00:ec2::254]')).toMatchObject({ ok: false, kind: 'metadata' });
    expect(await guard.vet(new URL('http://0x7f.1/').hostname)).toMatchObject({ ok: false, kind: 'loopback' });
    expect(await guard.vet('8.8.8.8')).toEqual({ ok: true, addresses: ['8.8.8.8'] });
  });

  it('allows private addresses when configured to', async () => {
    const guard = new UrlGuard(resolver, { allowPrivateNetworks: true });
    expect(await guard.vet('sneaky.example.com')).toEqual({ ok: true, addresses: ['93.184.215.14', '127.0.0.1'] });
    expect(await guard.vet('[::1]')).toEqual({ ok: true, addresses: ['::1'] });
  });

  it('reports a host that does not resolve, or resolves too slowly', async () => {
    expect(await new UrlGuard(resolver, { allowPrivateNetworks: true }).vet('nowhere.example.com')).toEqual({
      ok: false,
      reason: 'unresolvable',
      detail: 'ENOTFOUND',
    });
    const hanging = new UrlGuard(() => new Promise<string[]>(() => undefined), { allowPrivateNetworks: false, resolveTimeoutMs: 20 });
    expect(await hanging.vet('slow.example.com')).toEqual({ ok: false, reason: 'unresolvable', detail: 'ETIMEOUT' });
  });
});
