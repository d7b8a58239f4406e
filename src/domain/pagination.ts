import { invalidArgument } from './errors.js';

// Page tokens are opaque to callers but carry only the last row's insertion
// sequence: keyset pagination on (seq) never repeats or skips an existing row
// when new rows arrive between pages.
const PREFIX = 'v1.';

/** Encodes the position after the last returned row. */
export function encodePageToken(lastSeq: string): string {
  return Buffer.from(PREFIX + lastSeq, 'utf8').toString('base64url');
}

/** Decodes a page token; empty means the first page. */
export function decodePageToken(token: string): string | undefined {
  if (token === '') return undefined;
  const decoded = /^[A-Za-z0-9_-]{1,64}$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  const seq = decoded.startsWith(PREFIX) ? decoded.slice(PREFIX.length) : '';
  // Within Postgres bigint, or the query itself would fail.
  if (!/^[0-9]{1,19}$/.test(seq) || BigInt(seq) > 9_223_372_036_854_775_807n) {
    throw invalidArgument('page_token', 'is not a token returned by this list call');
  }
  return seq;
}

/** A page of results and the token for the next one ('' at the end). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** Builds a page from rows fetched with limit+1, so the last page has no token. */
export function toPage<T extends { seq: string }>(rows: T[], size: number): Page<T> {
  const items = rows.slice(0, size);
  const last = items[items.length - 1];
  return { items, nextPageToken: rows.length > size && last ? encodePageToken(last.seq) : '' };
}
