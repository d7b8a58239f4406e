import { createHmac, randomBytes } from 'node:crypto';

// Standard Webhooks (https://www.standardwebhooks.com): the receiver recomputes
// HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}` with the bytes
// of its `whsec_` secret and compares it with any one of the signatures sent.

const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 24;

/** A new endpoint signing secret: `whsec_` + base64 of 24 random bytes. */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** The key bytes of a `whsec_` secret. */
export function webhookSecretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('webhook secrets start with whsec_');
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

/** One `v1,<base64>` signature of `body` under `secret`. */
export function signWebhook(secret: string, id: string, timestamp: number, body: Buffer): string {
  const mac = createHmac('sha256', webhookSecretKey(secret))
    .update(`${id}.${timestamp}.`, 'utf8')
    .update(body)
    .digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers of one attempt. */
export interface WebhookSignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Headers for one attempt, with a signature per active secret, space
 * separated: during a rotation's grace period receivers holding either the old
 * or the new secret accept the delivery.
 */
export function webhookSignatureHeaders(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: Buffer,
): WebhookSignatureHeaders {
  if (secrets.length === 0) throw new Error('a webhook needs at least one secret to sign with');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => signWebhook(s, id, timestamp, body)).join(' '),
  };
}
