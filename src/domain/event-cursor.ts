import { invalidArgument } from './errors.js';

/** A place in the event stream: the writing transaction's id (xid8), then the row's position (bigint). */
export interface EventPosition {
  txid: string;
  position: string;
}

// Cursors are opaque to callers, like page tokens. The version prefix leaves
// room for a different encoding later without misreading old cursors.
const PREFIX = 'ev1.';
const MAX_XID8 = 18_446_744_073_709_551_615n;
const MAX_BIGINT = 9_223_372_036_854_775_807n;
// One spelling per value, so equal positions always have equal cursors.
const CANONICAL = /^(0|[1-9][0-9]{0,19})$/;

/** Encodes a stream position as an opaque base64url cursor. */
export function encodeEventCursor(txid: string, position: string): string {
  return Buffer.from(`${PREFIX}${txid}.${position}`, 'utf8').toString('base64url');
}

/**
 * Decodes a cursor from {@link encodeEventCursor}; anything else, including
 * numbers Postgres could not hold, is INVALID_ARGUMENT about `field`.
 */
export function decodeEventCursor(cursor: string, field = 'after_cursor'): EventPosition {
  const decoded = /^[A-Za-z0-9_-]{1,80}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const parts = decoded.startsWith(PREFIX) ? decoded.slice(PREFIX.length).split('.') : [];
  const [txid, position] = parts;
  if (
    parts.length !== 2 ||
    txid === undefined ||
    position === undefined ||
    !CANONICAL.test(txid) ||
    !CANONICAL.test(position) ||
    BigInt(txid) > MAX_XID8 ||
    BigInt(position) > MAX_BIGINT ||
    encodeEventCursor(txid, position) !== cursor
  ) {
    throw invalidArgument(field, 'is not a cursor returned by this service (Event.cursor)');
  }
  return { txid, position };
}
