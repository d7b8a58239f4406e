import { createHash } from 'node:crypto';
import type { IdempotencyKey } from './records.js';

/**
 * Builds the idempotency key for a request: the caller's request_id and a
 * hash of the request's parameters, so that reusing a request_id with
 * different parameters is detected instead of silently replayed.
 */
export function idempotencyKey(requestId: string | null, params: Record<string, unknown>): IdempotencyKey | null {
  if (requestId === null) return null;
  const canonical = JSON.stringify(Object.keys(params).sort().map((k) => [k, params[k]]));
  return { requestId, requestHash: createHash('sha256').update(canonical).digest() };
}
