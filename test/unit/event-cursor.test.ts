import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { decodeEventCursor, encodeEventCursor } from '../../src/domain/event-cursor.js';

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
