import { invalidArgument } from './errors.js';
import type { Environment } from './principal.js';
import { Sealer } from './sealed-token.js';

/** A place in the event stream: the writing transaction's id (xid8), then the row's position (bigint). */
export interface EventPosition {
  txid: string;
  position: string;
}

// The plain encoding below is the stores' internal form of a position. Callers
// only ever see it sealed by EventCursors. The version prefix leaves room for a
// different encoding later without misreading old cursors.
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

const CURSOR_BYTES = 16;

/**
 * The cursors callers see (Event.cursor, WatchEvents' after_cursor): a stream
 * position sealed for one environment ({@link Sealer}). The position is the
 * writing transaction's id and the row's place in one sequence shared by both
 * environments, so a readable cursor let a sandbox watcher count production's
 * writes between two of its events. Sealed, it looks random, the same
 * position always gives the same cursor, and another environment's cursor, or
 * an altered one, is INVALID_ARGUMENT.
 */
export class EventCursors {
  private readonly sealer: Sealer;

  /** `keyEncryptionKey` is ROOMGATE_KEY_ENCRYPTION_KEY's 32 bytes; the cursor keys are derived from it. */
  constructor(keyEncryptionKey: Buffer) {
    this.sealer = new Sealer(keyEncryptionKey, 'event-cursors/v1');
  }

  /** Seals a position for callers of `environment`. */
  seal(environment: Environment, at: EventPosition): string {
    const plain = Buffer.alloc(CURSOR_BYTES);
    plain.writeBigUInt64BE(BigInt(at.txid), 0);
    plain.writeBigUInt64BE(BigInt(at.position), 8);
    return this.sealer.seal(`events/${environment}`, plain);
  }

  /** Seals a store's plain cursor ({@link encodeEventCursor}) for callers of `environment`. */
  sealPlain(environment: Environment, plainCursor: string): string {
    return this.seal(environment, decodeEventCursor(plainCursor, 'cursor'));
  }

  /** Opens a cursor sealed for `environment`; anything else is INVALID_ARGUMENT about `field`. */
  open(environment: Environment, cursor: string, field = 'after_cursor'): EventPosition {
    const plain = this.sealer.open(`events/${environment}`, cursor, CURSOR_BYTES);
    const position = plain?.readBigUInt64BE(8);
    if (!plain || position === undefined || position > MAX_BIGINT) {
      throw invalidArgument(field, 'is not a cursor returned by this service (Event.cursor)');
    }
    return { txid: plain.readBigUInt64BE(0).toString(), position: position.toString() };
  }
}
