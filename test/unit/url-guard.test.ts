import { describe, expect, it } from 'vitest';
import { classifyAddress, IPV4_SPECIAL_PURPOSE, IPV6_SPECIAL_PURPOSE, UrlGuard, type Resolver } from '../../src/domain/url-guard.js';

// The IANA special-purpose address registries, row by row: address block and
// its "Globally Reachable" value ('N/A' also for a blank cell), as published
// at https://www.iana.org/assignments/iana-ipv4-special-registry and
// https://www.iana.org/assignments/iana-ipv6-special-registry. Kept here apart
// from the guard's table so that a row dropped or changed there fails.
type Reachable = boolean | 'N/A';
const IPV4_REGISTRY: [string, Reachable][] = [
  ['0.0.0.0/8', false],
  ['0.0.0.0/32', false],
  ['10.0.0.0/8', false],
  ['100.64.0.0/10', false],
  ['127.0.0.0/8', false],
  ['169.254.0.0/16', false],
  ['172.16.0.0/12', false],
  ['192.0.0.0/24', false],
  ['192.0.0.0/29', false],
  ['192.0.0.8/32', false],
  ['192.0.0.9/32', true],
  ['192.0.0.10/32', true],
  ['192.0.0.170/32', false],
  ['192.0.0.171/32', false],
  ['192.0.2.0/24', false],
  ['192.31.196.0/24', true],
  ['192.52.193.0/24', true],
  ['192.88.99.0/24', 'N/A'],
  ['192.168.0.0/16', false],
  ['192.175.48.0/24', true],
  ['198.18.0.0/15', false],
  ['198.51.100.0/24', false],
  ['203.0.113.0/24', false],
  ['240.0.0.0/4', false],
  ['255.255.255.255/32', false],
];
const IPV6_REGISTRY: [string, Reachable][] = [
  ['::1/128', false],
  ['::/128', false],
  ['::ffff:0:0/96', false],
  ['64:ff9b::/96', true],
  ['64:ff9b:1::/48', false],
  ['100::/64', false],
  ['100:0:0:1::/64', false],
  ['2001::/23', false],
  ['2001::/32', 'N/A'],
  ['2001:1::1/128', true],
  ['2001:1::2/128', true],
  ['2001:1::3/128', true],
  ['2001:2::/48', false],
  ['2001:3::/32', true],
  ['2001:4:112::/48', true],
  ['2001:10::/28', 'N/A'],
  ['2001:20::/28', true],
  ['2001:30::/28', true],
  ['2001:db8::/32', false],
  ['2002::/16', 'N/A'],
  ['2620:4f:8000::/48', true],
  ['3fff::/20', false],
  ['5f00::/16', false],
  ['fc00::/7', false],
  ['fe80::/10', false],
];
// Rows marked globally reachable that the guard refuses anyway, because they
// lie inside a refused block (192.0.0.0/24, 2001::/23): anycast service
// addresses, AMT, AS112-v6, ORCHIDv2 and DRIP identifiers, none of them a
// webhook receiver. 64:ff9b::/96 is decided by its embedded IPv4 address.
const REACHABLE_BUT_REFUSED = new Set(['192.0.0.9/32', '192.0.0.10/32', '2001:1::1/128', '2001:1::2/128', '2001:1::3/128', '2001:3::/32', '2001:4:112::/48', '2001:20::/28', '2001:30::/28']);

function bounds(cidr: string): [string, string] {
  const [ip, bitsText] = cidr.split('/') as [string, string];
  const bits = Number(bitsText);
  if (ip.includes(':')) {
    const full = ip.split('::');
    const head = full[0] ? full[0].split(':') : [];
    const tail = full[1] ? full[1].split(':') : [];
    const groups = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
    const base = groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n);
    const host = (1n << BigInt(128 - bits)) - 1n;
    const text = (v: bigint) => Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
    return [text(base & ~host), text(base | host)];
  }
  const base = ip.split('.').reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
  const host = (1n << BigInt(32 - bits)) - 1n;
  const text = (v: bigint) => [24n, 16n, 8n, 0n].map((shift) => String((v >> shift) & 0xffn)).join('.');
  return [text(base & ~host), text(base | host)];
}

describe('the IANA special-purpose registries', () => {
  it("are the guard's tables, row for row, with their Globally Reachable values", () => {
    expect(IPV4_SPECIAL_PURPOSE.map((b) => [b.cidr, b.globallyReachable])).toEqual(IPV4_REGISTRY);
    expect(IPV6_SPECIAL_PURPOSE.map((b) => [b.cidr, b.globallyReachable])).toEqual(IPV6_REGISTRY);
  });

  it.each([...IPV4_REGISTRY, ...IPV6_REGISTRY])('%s (globally reachable: %s): first and last address decided by the registry', (cidr, reachable) => {
    for (const address of bounds(cidr)) {
      if (cidr === '64:ff9b::/96') continue; // decided by the embedded IPv4 address, below
      if (reachable === true && !REACHABLE_BUT_REFUSED.has(cidr)) expect(classifyAddress(address), address).toBeUndefined();
      else expect(classifyAddress(address), address).toBeDefined();
    }
  });

  it('decides NAT64 64:ff9b::/96 by the IPv4 address it embeds', () => {
    expect(classifyAddress('64:ff9b::808:808')).toBeUndefined();
    expect(classifyAddress('64:ff9b::0.0.0.0')).toBe('unspecified');
    expect(classifyAddress('64:ff9b::255.255.255.255')).toBe('reserved');
    expect(classifyAddress('64:ff9b::192.0.2.1')).toBe('documentation');
  });

  it.each([
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.200', 'documentation'],
    ['192.88.99.1', 'reserved'],
    ['198.19.255.255', 'benchmarking'],
    ['64:ff9b:1::1', 'translation'],
    ['::ffff:8.8.8.8', 'translation'],
    ['::ffff:0:808:808', 'reserved'],
    ['2001::1', 'reserved'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['2002:808:808::1', 'translation'],
    ['3fff::1', 'documentation'],
    ['5f00::1', 'reserved'],
    ['fbff::1', 'reserved'],
    ['4000::1', 'reserved'],
  ])('%s, missed before, is refused as %s', (ip, kind) => {
    expect(classifyAddress(ip)).toBe(kind);
  });
});

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
    '2606:4700:4700::1111', '2001:4860:4860::8888', '64:ff9b::808:808', '2a00::1', '192.31.196.1', '2620:4f:8000::1', '2001:200::1'])(
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
