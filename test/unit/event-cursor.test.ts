import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { decodeEventCursor, encodeEventCursor, EventCursors } from '../../src/domain/event-cursor.js';

const MAX_XID8 = '18446744073709551615';
const MAX_BIGINT = '9223372036854775807';
const raw = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

function expectRefused(cursor: string, field = 'after_cursor'): void {
  let thrown: unknown;
  try {
    decodeEventCursor(cursor, field);
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `cursor ${JSON.stringify(cursor)} was accepted`).toBeInstanceOf(DomainError);
  expect((thrown as DomainError).code).toBe('ERR_INVALID_ARGUMENT');
  expect((thrown as DomainError).message).toMatch(new RegExp(`^${field}: `));
}

describe('event cursors', () => {
  it.each([
    ['0', '0'],
    ['761', '42'],
    [MAX_XID8, MAX_BIGINT],
  ])('round-trips txid %s, position %s', (txid, position) => {
    const cursor = encodeEventCursor(txid, position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeEventCursor(cursor)).toEqual({ txid, position });
  });

  it('is opaque: the numbers do not show', () => {
    expect(encodeEventCursor(MAX_XID8, MAX_BIGINT)).not.toContain(MAX_XID8);
  });

  it('gives different positions different cursors', () => {
    expect(encodeEventCursor('1', '23')).not.toBe(encodeEventCursor('12', '3'));
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'ev1.1.2'],
    ['plain junk', 'bm90IGEgY3Vyc29y'],
    ['a page token', raw('v1.12')],
    ['no position', raw('ev1.12')],
    ['three parts', raw('ev1.1.2.3')],
    ['a negative number', raw('ev1.-1.2')],
    ['leading zeros', raw('ev1.01.2')],
    ['a decimal point', raw('ev1.1.2e3')],
    ['spaces', raw('ev1. 1.2')],
    ['txid beyond xid8', raw(`ev1.18446744073709551616.1`)],
    ['position beyond bigint', raw(`ev1.1.9223372036854775808`)],
    ['digits by the hundred', raw(`ev1.${'9'.repeat(100)}.1`)],
    ['too long to be a cursor', 'A'.repeat(200)],
  ])('refuses %s with INVALID_ARGUMENT', (_name, cursor) => {
    expectRefused(cursor);
  });

  it('refuses a second spelling of a valid cursor (padding)', () => {
    expectRefused(`${encodeEventCursor('5', '6')}=`);
  });

  it('names the field it was given', () => {
    expectRefused('junk!', 'cursor');
  });
});

describe('EventCursors (what callers see)', () => {
  const cursors = new EventCursors(Buffer.alloc(32, 9));
  const at = { txid: '761', position: '42' };

  it('round-trip within an environment, the same position always giving the same cursor', () => {
    const sealed = cursors.seal('sandbox', at);
    expect(sealed).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cursors.seal('sandbox', at)).toBe(sealed);
    expect(cursors.open('sandbox', sealed)).toEqual(at);
    expect(cursors.open('sandbox', cursors.sealPlain('sandbox', encodeEventCursor('761', '42')))).toEqual(at);
    expect(cursors.open('sandbox', cursors.seal('sandbox', { txid: MAX_XID8, position: MAX_BIGINT }))).toEqual({ txid: MAX_XID8, position: MAX_BIGINT });
  });

  it("refuse another environment's cursor, another key's, an altered one and the plain form", () => {
    const refused = (fn: () => unknown) => expect(fn).toThrow(/^after_cursor: is not a cursor returned by this service/);
    const sealed = cursors.seal('production', at);
    refused(() => cursors.open('sandbox', sealed));
    refused(() => new EventCursors(Buffer.alloc(32, 8)).open('production', sealed));
    refused(() => cursors.open('production', `${sealed.slice(0, 10)}${sealed[10] === 'A' ? 'B' : 'A'}${sealed.slice(11)}`));
    refused(() => cursors.open('production', encodeEventCursor('761', '42')));
  });

  it('say nothing of the position: adjacent positions give unrelated cursors', () => {
    const a = Buffer.from(cursors.seal('sandbox', { txid: '1000', position: '5000' }), 'base64url');
    const b = Buffer.from(cursors.seal('sandbox', { txid: '1000', position: '5001' }), 'base64url');
    let differing = 0;
    for (let i = 0; i < a.length; i++) differing += [...((a[i]! ^ b[i]!) >>> 0).toString(2)].filter((c) => c === '1').length;
    // 256 bits; a plain or counter encoding changes a handful.
    expect(differing).toBeGreaterThan(80);
  });
});
