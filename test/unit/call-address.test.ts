// callClientKey reads the address the server's interceptor decided on; the
// interceptor itself is tested over real connections in
// test/integration/join-rate-limits-addresses.test.ts.
import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { callClientKey, CLIENT_ADDRESS_HEADER } from '../../src/transport/call-address.js';

const call = (address?: string) => {
  const metadata = new Metadata();
  if (address !== undefined) metadata.set(CLIENT_ADDRESS_HEADER, address);
  return { metadata };
};

describe('callClientKey', () => {
  it('keys the decided address as clientKey does', () => {
    expect(callClientKey(call('198.51.100.7'))).toBe('198.51.100.7');
    expect(callClientKey(call('2001:db8:1:2::9'))).toBe('2001:db8:1:2::/64');
  });

  it("is 'unknown' without a decided address, or with one that is not an address", () => {
    expect(callClientKey(call())).toBe('unknown');
    expect(callClientKey(call('example.com'))).toBe('unknown');
  });
});
