import { describe, expect, it } from 'vitest';
import {
  generateWebhookSecret,
  signWebhook,
  webhookSignatureHeaders,
} from '../../src/domain/webhook-signature.js';
import { verifyStandardWebhook as verify } from '../support/standard-webhooks.js';

describe('Standard Webhooks signatures', () => {
  it('reproduces the specification test vector', () => {
    const body = Buffer.from('{"test": 2432232314}');
    expect(signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
    // The test's own receiver agrees with the vector, so it can judge the rest.
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,bm90IGl0 v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    expect(verify('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', headers, body)).toBe(true);
    expect(verify('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', headers, '{"test": 2432232315}')).toBe(false);
  });

  it('makes whsec_ secrets of 24 random bytes', () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(24);
    expect(generateWebhookSecret()).not.toBe(a);
  });

  it('produces headers an independent receiver accepts, and rejects a changed body, id or timestamp', () => {
    const secret = generateWebhookSecret();
    const body = '{"id":"e1","type":"EVENT_TYPE_ROOM_CREATED","note":"ünïcode"}';
    const headers = { ...webhookSignatureHeaders([secret], 'e1', 1_700_000_000, Buffer.from(body)) };
    expect(headers['webhook-id']).toBe('e1');
    expect(headers['webhook-timestamp']).toBe('1700000000');
    expect(verify(secret, headers, body)).toBe(true);
    expect(verify(secret, headers, body.replace('e1', 'e2'))).toBe(false);
    expect(verify(secret, { ...headers, 'webhook-id': 'e2' }, body)).toBe(false);
    expect(verify(secret, { ...headers, 'webhook-timestamp': '1700000001' }, body)).toBe(false);
    expect(verify(generateWebhookSecret(), headers, body)).toBe(false);
  });

  it('signs with every active secret during a rotation, each verifying on its own', () => {
    const current = generateWebhookSecret();
    const previous = generateWebhookSecret();
    const body = '{}';
    const headers = { ...webhookSignatureHeaders([current, previous], 'e1', 1_700_000_000, Buffer.from(body)) };
    const parts = headers['webhook-signature'].split(' ');
    expect(parts).toHaveLength(2);
    expect(parts.every((p) => p.startsWith('v1,'))).toBe(true);
    expect(verify(current, headers, body)).toBe(true);
    expect(verify(previous, headers, body)).toBe(true);
    expect(verify(current, { ...headers, 'webhook-signature': parts[1]! }, body)).toBe(false);
  });

  it('refuses to sign without a secret', () => {
    expect(() => webhookSignatureHeaders([], 'e1', 1, Buffer.from('{}'))).toThrow(/at least one secret/);
  });
});
