import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { DEFAULT_LIMITS as L } from '../../src/domain/limits.js';
import * as v from '../../src/domain/validation.js';

const invalid = (fn: () => unknown, pattern: RegExp) => {
  try {
    fn();
  } catch (err) {
    expect((err as DomainError).code).toBe('ERR_INVALID_ARGUMENT');
    expect((err as DomainError).message).toMatch(pattern);
    return;
  }
  throw new Error('expected INVALID_ARGUMENT');
};

describe('validation', () => {
  it('checks room names', () => {
    expect(v.optionalRoomName('')).toBeNull();
    expect(v.optionalRoomName('standup_2026-11')).toBe('standup_2026-11');
    expect(v.optionalRoomName('a'.repeat(64))).toHaveLength(64);
    invalid(() => v.optionalRoomName('a'.repeat(65)), /^name: must be 1-64/);
    invalid(() => v.optionalRoomName('has space'), /^name:/);
    invalid(() => v.optionalRoomName('ünïcode'), /^name:/);
  });

  it('checks JSON metadata and its size', () => {
    expect(v.jsonText('metadata', '', L)).toBe('{}');
    expect(v.jsonText('metadata', '{"a":[1,2]}', L)).toBe('{"a":[1,2]}');
    expect(v.jsonText('metadata', '"just a string"', L)).toBe('"just a string"');
    invalid(() => v.jsonText('metadata', '{not json', L), /^metadata: must be valid JSON/);
    invalid(() => v.jsonText('client_metadata', JSON.stringify({ x: 'y'.repeat(L.maxMetadataBytes) }), L), /^client_metadata: is \d+ bytes; the limit is 4096/);
  });

  it('checks token lifetimes: 0 is 24 h, 60-86400 accepted', () => {
    expect(v.tokenTtl(0, L)).toBe(86_400);
    expect(v.tokenTtl(60, L)).toBe(60);
    expect(v.tokenTtl(86_400, L)).toBe(86_400);
    invalid(() => v.tokenTtl(59, L), /^token_ttl_seconds:/);
    invalid(() => v.tokenTtl(86_401, L), /^token_ttl_seconds:/);
  });

  it('checks ids, page sizes, identities and request ids', () => {
    invalid(() => v.requireId('room_id', ''), /^room_id: is required/);
    invalid(() => v.requireId('room_id', "1' OR '1'='1"), /^room_id: must be a UUID/);
    expect(v.pageSize(0, L)).toBe(50);
    expect(v.pageSize(100, L)).toBe(100);
    invalid(() => v.pageSize(101, L), /^page_size:/);
    invalid(() => v.text('identity', 'x'.repeat(129), L), /^identity: must be at most 128/);
    invalid(() => v.text('name', 'bell\u0007', L), /control characters/);
    expect(v.requestId('')).toBeNull();
    invalid(() => v.requestId('has space'), /^request_id:/);
    invalid(() => v.maxPeers(-1), /^max_peers:/);
  });
});

describe('identities and names', () => {
  it('refuse bidi overrides, zero-width and other invisible characters, naming the field and the code point', () => {
    for (const field of ['identity', 'name']) {
      invalid(() => v.text(field, 'alice\u202Egpj.exe', L), new RegExp(`^${field}: must not contain invisible or bidirectional formatting characters \\(found U\\+202E\\)`));
    }
    const refused = ['\u200B', '\u200C', '\u200E', '\u200F', '\u202A', '\u202D', '\u2066', '\u2069', '\u2060', '\uFEFF', '\u00AD', '\u061C', '\u2028', '\u2029', '\u3164', '\u{E0041}', 'a\u200Db'];
    for (const c of refused) invalid(() => v.text('identity', `user${c}1`, L), /^identity: must not contain invisible/);
  });

  it('keep emoji, including zero-width-joiner sequences, and ordinary scripts', () => {
    for (const ok of ['👨\u200D👩\u200D👧', '👍🏽', '🏳️\u200D🌈', 'Zoë', 'محمد', 'שלום', '山田太郎', 'user-123']) {
      expect(v.text('identity', ok, L)).toBe(ok);
    }
  });
});
