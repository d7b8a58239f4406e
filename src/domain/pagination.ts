import { invalidArgument } from './errors.js';
import type { Environment } from './principal.js';
import { Sealer } from './sealed-token.js';

/** The list calls that hand out page tokens; a token of one is refused by another. */
export type PageList = 'rooms' | 'peers' | 'management-tokens' | 'webhook-endpoints' | 'bans' | 'audit-events' | 'roles' | 'join-codes';

/** What a page token is bound to: the caller's environment, the list, and for peers the room. */
export interface PageScope {
  environment: Environment;
  list: PageList;
  /** The room whose peers are listed, or a list's filters (bans); empty for lists that are neither. */
  within?: string;
}

/** A page of results and the token for the next one ('' at the end). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

const MAX_BIGINT = 9_223_372_036_854_775_807n;
const SEQ_BYTES = 8;
/** Longest name a page token of a list ordered by name holds: a role name's longest (ASCII, no NUL). */
const NAME_BYTES = 64;

/**
 * Page tokens: the last row's insertion sequence, sealed ({@link Sealer}).
 * Keyset pagination on (seq) never repeats or skips a row when rows arrive
 * between pages, but seq is one counter per table across both environments,
 * so a readable token told a sandbox caller how many production rooms had
 * been created between two of its pages. A sealed token looks random, and one
 * made for another environment, list or room, or altered, does not open.
 * Every instance shares the key-encryption key, so any instance takes them.
 */
export class PageTokens {
  private readonly sealer: Sealer;

  /** `keyEncryptionKey` is ROOMGATE_KEY_ENCRYPTION_KEY's 32 bytes; the page keys are derived from it. */
  constructor(keyEncryptionKey: Buffer) {
    this.sealer = new Sealer(keyEncryptionKey, 'page-tokens/v1');
  }

  /** Seals the position after the last returned row. */
  encode(scope: PageScope, lastSeq: string): string {
    const plain = Buffer.alloc(SEQ_BYTES);
    plain.writeBigUInt64BE(BigInt(lastSeq));
    return this.sealer.seal(context(scope), plain);
  }

  /**
   * Opens a page token; empty means the first page. Anything this service did
   * not seal for exactly this scope is INVALID_ARGUMENT.
   */
  decode(scope: PageScope, token: string): string | undefined {
    if (token === '') return undefined;
    const seq = this.sealer.open(context(scope), token, SEQ_BYTES)?.readBigUInt64BE();
    // Within Postgres bigint, or the query itself would fail.
    if (seq === undefined || seq > MAX_BIGINT) throw invalidArgument('page_token', 'is not a token returned by this list call');
    return seq.toString();
  }

  /**
   * Seals the position after the last returned row of a list ordered by a
   * unique ASCII name (roles), padded with NUL to a fixed length so that the
   * token does not tell the name's length.
   */
  encodeName(scope: PageScope, lastName: string): string {
    const plain = Buffer.alloc(NAME_BYTES);
    if (plain.write(lastName, 'latin1') !== lastName.length) throw new Error('page key longer than a name');
    return this.sealer.seal(context(scope), plain);
  }

  /** Opens a token of {@link encodeName}; empty means the first page; anything else is INVALID_ARGUMENT. */
  decodeName(scope: PageScope, token: string): string | undefined {
    if (token === '') return undefined;
    const plain = this.sealer.open(context(scope), token, NAME_BYTES);
    if (!plain) throw invalidArgument('page_token', 'is not a token returned by this list call');
    const end = plain.indexOf(0);
    return plain.subarray(0, end === -1 ? NAME_BYTES : end).toString('latin1');
  }

  /** {@link page} for a list ordered by name. */
  pageByName<T extends { name: string }>(scope: PageScope, rows: T[], size: number): Page<T> {
    const items = rows.slice(0, size);
    const last = items[items.length - 1];
    return { items, nextPageToken: rows.length > size && last ? this.encodeName(scope, last.name) : '' };
  }

  /** Builds a page from rows fetched with limit+1, so the last page has no token. */
  page<T extends { seq: string }>(scope: PageScope, rows: T[], size: number): Page<T> {
    const items = rows.slice(0, size);
    const last = items[items.length - 1];
    return { items, nextPageToken: rows.length > size && last ? this.encode(scope, last.seq) : '' };
  }
}

function context(scope: PageScope): string {
  return `page/${scope.environment}/${scope.list}/${scope.within ?? ''}`;
}
