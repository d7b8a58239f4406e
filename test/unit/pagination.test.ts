// Page tokens are sealed per environment and list (issue 12, section 3): they
// round-trip, say nothing of the sequence behind them, and any token sealed
// for another scope, under another key, or altered, is INVALID_ARGUMENT.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { PageTokens, type PageScope } from '../../src/domain/pagination.js';

const ROOMS: PageScope = { environment: 'sandbox', list: 'rooms' };
const pages = new PageTokens(randomBytes(32));

function refused(fn: () => unknown): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DomainError);
  expect((err as DomainError).code).toBe('ERR_INVALID_ARGUMENT');
  expect((err as DomainError).message).toBe('page_token: is not a token returned by this list call');
}

const bits = (a: Buffer, b: Buffer) => a.reduce((n, x, i) => n + [...((x ^ (b[i] as number)) >>> 0).toString(2)].filter((c) => c === '1').length, 0);

describe('PageTokens', () => {
  it('round-trip within their scope, and the empty token is the first page', () => {
    for (const seq of ['1', '42', '9223372036854775807']) expect(pages.decode(ROOMS, pages.encode(ROOMS, seq))).toBe(seq);
    expect(pages.decode(ROOMS, '')).toBeUndefined();
    expect(pages.encode(ROOMS, '42')).toBe(pages.encode(ROOMS, '42'));
  });

  it('refuse a token of the other environment, another list, another room, or another key', () => {
    const token = pages.encode({ environment: 'production', list: 'rooms' }, '42');
    refused(() => pages.decode(ROOMS, token));
    refused(() => pages.decode({ environment: 'production', list: 'webhook-endpoints' }, token));
    const peers = pages.encode({ environment: 'sandbox', list: 'peers', within: 'room-a' }, '7');
    refused(() => pages.decode({ environment: 'sandbox', list: 'peers', within: 'room-b' }, peers));
    refused(() => new PageTokens(randomBytes(32)).decode(ROOMS, pages.encode(ROOMS, '42')));
  });

  it('refuse forged, altered, old-format and garbage tokens', () => {
    const token = pages.encode(ROOMS, '42');
    for (let i = 0; i < token.length; i++) {
      const c = token[i] === 'A' ? 'B' : 'A';
      refused(() => pages.decode(ROOMS, token.slice(0, i) + c + token.slice(i + 1)));
    }
    // The format before sealing: base64url of "v1.<seq>".
    refused(() => pages.decode(ROOMS, Buffer.from('v1.41').toString('base64url')));
    for (const junk of ['garbage!', 'A'.repeat(32), token + 'A', token.slice(1), `${token.slice(0, -1)}=`]) refused(() => pages.decode(ROOMS, junk));
  });

  it('say nothing of the sequence: fixed length, and adjacent positions differ in about half their bits', () => {
    const tokens = Array.from({ length: 200 }, (_, i) => pages.encode(ROOMS, String(1000 + i)));
    expect(new Set(tokens.map((t) => t.length))).toEqual(new Set([32]));
    let differing = 0;
    for (let i = 1; i < tokens.length; i++) {
      const a = Buffer.from(tokens[i - 1] as string, 'base64url');
      const b = Buffer.from(tokens[i] as string, 'base64url');
      differing += bits(a, b);
      expect(tokens[i]).not.toContain(String(1000 + i));
    }
    // 192 bits per token; a counter or a plain encoding changes only a few of them.
    const mean = differing / (tokens.length - 1) / 192;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    // And their order is not the order of the positions.
    expect([...tokens].sort()).not.toEqual(tokens);
  });

  it('give a next token only when more rows exist', () => {
    const rows = [{ seq: '1' }, { seq: '2' }, { seq: '3' }];
    expect(pages.page(ROOMS, rows, 2)).toEqual({ items: rows.slice(0, 2), nextPageToken: pages.encode(ROOMS, '2') });
    expect(pages.page(ROOMS, rows, 3)).toEqual({ items: rows, nextPageToken: '' });
  });
});
