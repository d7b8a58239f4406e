import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { DomainError } from '../../src/domain/errors.js';
import { JoinCodeHasher, normalizeJoinCode, SHORT_CODE_BITS } from '../../src/domain/join-codes.js';
import { redemptionOutcome } from '../../src/transport/join-code-service.js';

const hasher = new JoinCodeHasher(Buffer.alloc(32, 1));
const sha256 = (s: string) => createHash('sha256').update(s).digest();

describe('link codes', () => {
  it('are rgj_ and 192 random bits in base64url, stored as their SHA-256, with the last 4 characters as hint', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const minted = hasher.mint('link');
      expect(minted.code).toMatch(/^rgj_[A-Za-z0-9_-]{32}$/);
      expect(Buffer.from(minted.code.slice(4), 'base64url')).toHaveLength(24);
      expect(minted.hash).toEqual(sha256(minted.code));
      expect(minted.hint).toBe(minted.code.slice(-4));
      seen.add(minted.code);
    }
    expect(seen.size).toBe(1000);
  });

  it('hash the same under any key: they outlive a change of the key-encryption key', () => {
    const code = hasher.mint('link').code;
    const other = new JoinCodeHasher(randomBytes(32));
    expect(other.hash(normalizeJoinCode(code)!)).toEqual(hasher.hash(normalizeJoinCode(code)!));
  });

  it('must be exact', () => {
    const code = hasher.mint('link').code;
    expect(normalizeJoinCode(code)).toEqual({ kind: 'link', text: code });
    for (const bad of [code.slice(0, -1), `${code}A`, ` ${code}`, code.replace('rgj_', 'RGJ_'), `${code.slice(0, -1)}=`]) {
      expect(normalizeJoinCode(bad), bad).toBeUndefined();
    }
  });
});

describe('short codes', () => {
  it('are 10 lowercase letters grouped 3-4-3, with 47.0 bits', () => {
    expect(SHORT_CODE_BITS).toBeCloseTo(47.004, 3);
    const letters = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const minted = hasher.mint('short');
      expect(minted.code).toMatch(/^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
      expect(minted.hint).toBe(minted.code.slice(-4));
      for (const c of minted.code.replace(/-/g, '')) letters.add(c);
    }
    expect(letters.size).toBe(26);
  });

  it('are normalized: any case, dashes and spaces dropped', () => {
    for (const typed of ['abc-defg-hij', 'ABC-DEFG-HIJ', 'abcdefghij', ' abc defg hij ', 'Abc--Defg-Hij', 'abc\tdefg\nhij']) {
      expect(normalizeJoinCode(typed), JSON.stringify(typed)).toEqual({ kind: 'short', text: 'abcdefghij' });
    }
    for (const bad of ['abc-defg-hi', 'abc-defg-hijk', 'abc-defg-hi1', 'abc_defg_hij', 'äbc-defg-hij', '', ' '.repeat(100)]) {
      expect(normalizeJoinCode(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('are hashed with a key: not their SHA-256, and different under another key-encryption key', () => {
    const minted = hasher.mint('short');
    const letters = minted.code.replace(/-/g, '');
    expect(minted.hash).not.toEqual(sha256(letters));
    expect(minted.hash).not.toEqual(sha256(minted.code));
    expect(new JoinCodeHasher(Buffer.alloc(32, 1)).hash({ kind: 'short', text: letters })).toEqual(minted.hash);
    expect(new JoinCodeHasher(Buffer.alloc(32, 2)).hash({ kind: 'short', text: letters })).not.toEqual(minted.hash);
    expect(hasher.hashTyped(minted.code.toUpperCase()).hash).toEqual(minted.hash);
  });

  it('hash any typed text for the rate limiter, without keeping it', () => {
    const typed = hasher.hashTyped('definitely not a code');
    expect(typed.normalized).toBeUndefined();
    expect(typed.hash).toHaveLength(32);
    expect(typed.hash).not.toEqual(sha256('definitely not a code'));
  });
});

describe('join code configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.joinCodes).toEqual({ maxTtlSeconds: 30 * 86_400, shortMaxTtlSeconds: 86_400, maxPerEnvironment: 10_000, maxShortPerEnvironment: 1_000, retentionSeconds: 30 * 86_400 });
    expect(c.publicUrl).toBeUndefined();
  });

  it('takes ROOMGATE_PUBLIC_URL as an absolute http(s) URL, without its trailing slash', () => {
    expect(loadConfig({ ROOMGATE_PUBLIC_URL: 'https://rooms.example.com/' }).publicUrl).toBe('https://rooms.example.com');
    expect(loadConfig({ ROOMGATE_PUBLIC_URL: 'http://127.0.0.1:8080/rg' }).publicUrl).toBe('http://127.0.0.1:8080/rg');
    for (const bad of ['rooms.example.com', 'ftp://rooms.example.com', 'https://rooms.example.com/?a=1', 'https://rooms.example.com/#x', '/join']) {
      expect(() => loadConfig({ ROOMGATE_PUBLIC_URL: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ ROOMGATE_PUBLIC_URL: bad }), bad).toThrow(/ROOMGATE_PUBLIC_URL: must be an absolute http/);
    }
  });

  it('bounds the lifetimes, quota and retention', () => {
    expect(() => loadConfig({ ROOMGATE_JOIN_CODE_MAX_TTL_SECONDS: '59' })).toThrow(/ROOMGATE_JOIN_CODE_MAX_TTL_SECONDS/);
    expect(() => loadConfig({ ROOMGATE_SHORT_JOIN_CODE_MAX_TTL_SECONDS: String(31 * 86_400) })).toThrow(/ROOMGATE_SHORT_JOIN_CODE_MAX_TTL_SECONDS/);
    expect(() => loadConfig({ ROOMGATE_MAX_JOIN_CODES_PER_ENVIRONMENT: '0' })).toThrow(/ROOMGATE_MAX_JOIN_CODES_PER_ENVIRONMENT/);
    expect(loadConfig({ ROOMGATE_JOIN_CODE_RETENTION_DAYS: '2' }).joinCodes.retentionSeconds).toBe(2 * 86_400);
  });
});

describe('redemption outcomes', () => {
  it('map to a fixed set of metric labels', () => {
    expect(redemptionOutcome(new DomainError('ERR_JOIN_CODE_INVALID', 'x'))).toBe('invalid_code');
    expect(redemptionOutcome(new DomainError('ERR_JOIN_RATE_LIMITED', 'x'))).toBe('rate_limited');
    expect(redemptionOutcome(new DomainError('ERR_ROOM_FULL', 'x'))).toBe('room_full');
    expect(redemptionOutcome(new DomainError('ERR_DB_UNAVAILABLE', 'x'))).toBe('error');
    expect(redemptionOutcome(new Error('boom'))).toBe('error');
  });
});
