// Client addresses: the per-client key, addresses as sockets and proxies
// write them, ROOMGATE_TRUSTED_PROXIES and the X-Forwarded-For walk.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { clientKey, requestClientAddress } from '../../src/http/client-address.js';
import { parseTrustedProxies, plainAddress, TrustedProxies } from '../../src/http/trusted-proxies.js';

describe('clientKey', () => {
  it('keys IPv4 by the address, IPv6 by its /64, and an IPv4-mapped address as IPv4', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002::ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });

  it('gives every address of one /64 the same key, and the next /64 another', () => {
    expect(clientKey('2001:db8:a:b::1')).toBe(clientKey('2001:db8:a:b:ffff:ffff:ffff:ffff'));
    expect(clientKey('2001:db8:a:b::1')).not.toBe(clientKey('2001:db8:a:c::1'));
  });
});

describe('plainAddress', () => {
  it('takes the bare IP from an address with or without port, brackets or zone', () => {
    expect(plainAddress('198.51.100.4')).toBe('198.51.100.4');
    expect(plainAddress(' 198.51.100.4:8443 ')).toBe('198.51.100.4');
    expect(plainAddress('2001:db8::7')).toBe('2001:db8::7');
    expect(plainAddress('[2001:db8::7]')).toBe('2001:db8::7');
    expect(plainAddress('[2001:db8::7]:443')).toBe('2001:db8::7');
    expect(plainAddress('fe80::1%eth0')).toBe('fe80::1');
    // Unbracketed, a trailing :443 is a group of the address, as IPv6 reads it.
    expect(plainAddress('2001:db8::7:443')).toBe('2001:db8::7:443');
    expect(plainAddress('::ffff:198.51.100.4')).toBe('198.51.100.4');
    expect(plainAddress('[::FFFF:198.51.100.4]:80')).toBe('198.51.100.4');
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', 'unknown', 'example.com', '1.2.3', '1.2.3.4.5', '999.1.1.1', '2001:db8::7::1', '[1.2.3.4', '_hidden', undefined]) {
      expect(plainAddress(bad), String(bad)).toBeUndefined();
    }
  });
});

describe('ROOMGATE_TRUSTED_PROXIES', () => {
  it('takes addresses and CIDR blocks of both families, spaces and empty entries ignored', () => {
    expect(parseTrustedProxies(' 10.0.0.0/8, 192.0.2.1,,2001:db8::/32 ')).toEqual(['10.0.0.0/8', '192.0.2.1', '2001:db8::/32']);
    expect(parseTrustedProxies('')).toEqual([]);
  });

  it('refuses a host name, a prefix too long for its family, or a stray slash, naming the entry', () => {
    expect(() => parseTrustedProxies('proxy.internal')).toThrow(/"proxy.internal" is neither an IP address nor a CIDR block/);
    expect(() => parseTrustedProxies('10.0.0.0/33')).toThrow(/10.0.0.0\/33/);
    expect(() => parseTrustedProxies('2001:db8::/129')).toThrow(RangeError);
    expect(() => parseTrustedProxies('10.0.0.0/8/1')).toThrow(RangeError);
    expect(() => parseTrustedProxies('10.0.0.0/')).toThrow(RangeError);
  });

  it('is read by the config, empty by default, and an invalid value fails the start', () => {
    expect(loadConfig({}).trustedProxies).toEqual([]);
    expect(loadConfig({ ROOMGATE_TRUSTED_PROXIES: '10.0.0.0/8,::1' }).trustedProxies).toEqual(['10.0.0.0/8', '::1']);
    expect(() => loadConfig({ ROOMGATE_TRUSTED_PROXIES: '10.0.0.0/8,lb' })).toThrow(ConfigError);
    expect(() => loadConfig({ ROOMGATE_TRUSTED_PROXIES: '10.0.0.0/8,lb' })).toThrow(/ROOMGATE_TRUSTED_PROXIES: "lb" is neither/);
  });

  it('reads the join rate limits, with their defaults', () => {
    expect(loadConfig({}).joinRateLimits).toMatchObject({ perAddress: 20, perCode: 120, windowSeconds: 60 });
    const c = loadConfig({
      ROOMGATE_JOIN_RATE_LIMIT_PER_ADDRESS: '5',
      ROOMGATE_JOIN_RATE_LIMIT_PER_CODE: '50',
      ROOMGATE_JOIN_RATE_LIMIT_WINDOW_SECONDS: '300',
    });
    expect(c.joinRateLimits).toMatchObject({ perAddress: 5, perCode: 50, windowSeconds: 300 });
    expect(() => loadConfig({ ROOMGATE_JOIN_RATE_LIMIT_PER_ADDRESS: '0' })).toThrow(/ROOMGATE_JOIN_RATE_LIMIT_PER_ADDRESS/);
  });
});

describe('TrustedProxies.clientAddress', () => {
  const proxies = new TrustedProxies(['10.0.0.0/8', '192.0.2.10', '2001:db8:ffff::/48']);

  it('believes no header from a peer that is not a trusted proxy', () => {
    expect(proxies.clientAddress('203.0.113.9', '198.51.100.1')).toBe('203.0.113.9');
    expect(new TrustedProxies().clientAddress('10.0.0.1', '198.51.100.1')).toBe('10.0.0.1');
  });

  it('takes the client from a trusted proxy, IPv4 or IPv6, mapped or not', () => {
    expect(proxies.clientAddress('10.1.2.3', '198.51.100.1')).toBe('198.51.100.1');
    expect(proxies.clientAddress('::ffff:10.1.2.3', '198.51.100.1')).toBe('198.51.100.1');
    expect(proxies.clientAddress('2001:db8:ffff:1::2', '2001:db8:1:2::3')).toBe('2001:db8:1:2::3');
    expect(proxies.clientAddress('10.1.2.3', '[2001:db8:1:2::3]:51000')).toBe('2001:db8:1:2::3');
  });

  it('walks a chain from the right, past every trusted hop, to the first untrusted one', () => {
    expect(proxies.clientAddress('10.0.0.1', '198.51.100.1, 192.0.2.10, 10.9.9.9')).toBe('198.51.100.1');
    // Several headers count as one list, in order.
    expect(proxies.clientAddress('10.0.0.1', ['198.51.100.1', '192.0.2.10, 10.9.9.9'])).toBe('198.51.100.1');
  });

  it('ignores what a client wrote to the left of the address its proxy appended', () => {
    // The client sent "X-Forwarded-For: 1.1.1.1, 10.0.0.5"; its proxy appended 198.51.100.1.
    expect(proxies.clientAddress('10.0.0.1', '1.1.1.1, 10.0.0.5, 198.51.100.1')).toBe('198.51.100.1');
    expect(proxies.clientAddress('10.0.0.1', 'garbage, 198.51.100.1')).toBe('198.51.100.1');
  });

  it('stops at an entry that is not an address, at the trusted hop that wrote it', () => {
    expect(proxies.clientAddress('10.0.0.1', '198.51.100.1, not-an-ip')).toBe('10.0.0.1');
    expect(proxies.clientAddress('10.0.0.1', '198.51.100.1, not-an-ip, 10.2.2.2')).toBe('10.2.2.2');
  });

  it('takes the leftmost address when every hop is trusted, and the proxy itself without a header', () => {
    expect(proxies.clientAddress('10.0.0.1', '10.3.3.3, 10.4.4.4')).toBe('10.3.3.3');
    expect(proxies.clientAddress('10.0.0.1', undefined)).toBe('10.0.0.1');
    expect(proxies.clientAddress('10.0.0.1', ' , ')).toBe('10.0.0.1');
    expect(proxies.clientAddress(undefined, '198.51.100.1')).toBeUndefined();
  });

  it('reads an HTTP request: its socket and its X-Forwarded-For', () => {
    const req = (remoteAddress: string, xff?: string) =>
      ({ socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as Parameters<typeof requestClientAddress>[0];
    expect(requestClientAddress(req('10.0.0.1', '198.51.100.1'), proxies)).toBe('198.51.100.1');
    expect(requestClientAddress(req('203.0.113.9', '198.51.100.1'), proxies)).toBe('203.0.113.9');
    expect(requestClientAddress(req('::ffff:203.0.113.9'), proxies)).toBe('203.0.113.9');
  });
});
