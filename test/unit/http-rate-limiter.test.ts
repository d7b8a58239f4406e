import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { clientKey } from '../../src/http/client-address.js';
import { RateLimiter } from '../../src/http/rate-limiter.js';

describe('RateLimiter', () => {
  it('lets a key make its burst at once, then one request per 1/rate seconds, and says how long to wait', () => {
    const clock = new ManualClock(new Date(0));
    const limiter = new RateLimiter(clock, { perSecond: 2, burst: 3 });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([undefined, undefined, undefined]);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBeUndefined();
    clock.advance(0.5);
    expect(limiter.take('a')).toBeUndefined();
    expect(limiter.take('a')).toBe(1);
    clock.advance(10);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([undefined, undefined, undefined, 1]);
  });

  it('rounds Retry-After up to whole seconds at a slow rate', () => {
    const clock = new ManualClock(new Date(0));
    const limiter = new RateLimiter(clock, { perSecond: 0.1, burst: 1 });
    expect(limiter.take('a')).toBeUndefined();
    expect(limiter.take('a')).toBe(10);
    clock.advance(4);
    expect(limiter.take('a')).toBe(6);
  });

  it('is off at rate 0', () => {
    const limiter = new RateLimiter(new ManualClock(new Date(0)), { perSecond: 0, burst: 1 });
    for (let i = 0; i < 100; i++) expect(limiter.take('a')).toBeUndefined();
    expect(limiter.size).toBe(0);
  });

  it('remembers at most maxKeys keys, forgetting the least recently seen, so a spray of addresses cannot grow memory', () => {
    const clock = new ManualClock(new Date(0));
    const limiter = new RateLimiter(clock, { perSecond: 1, burst: 1, maxKeys: 3 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('c');
    expect(limiter.take('a')).toBe(1); // a is now the most recently seen
    limiter.take('d'); // forgets b
    expect(limiter.size).toBe(3);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBeUndefined(); // forgotten, so a full bucket again; forgets c
    for (let i = 0; i < 10_000; i++) limiter.take(`spray-${i}`);
    expect(limiter.size).toBe(3);
  });
});

describe('clientKey', () => {
  it('is the IPv4 address, also when IPv4-mapped, and the /64 of an IPv6 address', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('::')).toBe('0:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });

  it('puts every address of one /64 under one key and different /64s under different keys', () => {
    expect(clientKey('2001:db8:a:b:1::')).toBe(clientKey('2001:db8:a:b:ffff:ffff:ffff:ffff'));
    expect(clientKey('2001:db8:a:b::1')).not.toBe(clientKey('2001:db8:a:c::1'));
  });
});
