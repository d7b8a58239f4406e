// A receiver's side of Standard Webhooks, written from the specification
// (https://www.standardwebhooks.com) and sharing no code with src/, so tests
// check roomgate's signatures against an independent implementation.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The three headers as a receiver reads them. */
export interface SignedHeaders {
  'webhook-id'?: string;
  'webhook-timestamp'?: string;
  'webhook-signature'?: string;
}

/**
 * True when any space-separated `v1,` signature is HMAC-SHA256 over
 * `id.timestamp.body` with the key that `whsec_secret` encodes in base64.
 */
export function verifyStandardWebhook(secret: string, headers: SignedHeaders, body: string | Buffer): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.`)
    .update(body)
    .digest();
  return (headers['webhook-signature'] ?? '').split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}
