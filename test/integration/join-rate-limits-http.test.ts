// ROOMGATE_TRUSTED_PROXIES on the public HTTP listener's request rate, on real
// roomgates sharing this file's database: from a trusted proxy (here the test
// itself, on 127.0.0.1) each X-Forwarded-For client has an allowance of its
// own; from a peer that is not trusted the header changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

const LIMITS = { ROOMGATE_HTTP_RATE_LIMIT_PER_SECOND: '1', ROOMGATE_HTTP_RATE_LIMIT_BURST: '2' };
let trusting: TestRoomgate;
let distrusting: TestRoomgate;

beforeAll(async () => {
  trusting = await startTestRoomgate({ ...LIMITS, ROOMGATE_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1' });
  distrusting = await startTestRoomgate({ ...LIMITS, ROOMGATE_TRUSTED_PROXIES: '192.0.2.1' }, { sharing: trusting });
});
afterAll(async () => {
  await distrusting?.close();
  await trusting?.close();
});

const get = async (t: TestRoomgate, forwardedFor?: string) =>
  (await fetch(`${t.httpUrl}/healthz`, { headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } })).status;

describe('the request rate behind trusted proxies', () => {
  // Requests go out at once: the allowance refills one a second, and the
  // statuses are compared as a sorted list.
  const all = async (t: TestRoomgate, headers: (string | undefined)[]) => (await Promise.all(headers.map((h) => get(t, h)))).sort();

  it('gives each forwarded client its own allowance when the peer is a trusted proxy', async () => {
    // A client that forges a hop to the left of what its proxy appended is still itself.
    expect(await all(trusting, ['203.0.113.1', '203.0.113.1', '198.51.100.77, 203.0.113.1', '203.0.113.1'])).toEqual([200, 200, 429, 429]);
    // Other clients behind the same proxy, one through a second trusted hop.
    expect(await all(trusting, ['203.0.113.2', '203.0.113.3, 10.1.1.1', '[2001:db8::5]:4000'])).toEqual([200, 200, 200]);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    expect(await all(distrusting, ['203.0.113.100', '203.0.113.101', '203.0.113.102', undefined])).toEqual([200, 200, 429, 429]);
  });
});
