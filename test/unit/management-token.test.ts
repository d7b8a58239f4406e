import { describe, expect, it } from 'vitest';
import {
  hashManagementToken,
  managementTokenHint,
  mintManagementToken,
  parseManagementToken,
} from '../../src/domain/management-token.js';

describe('management tokens', () => {
  it('carry a visible environment prefix, 43 random base62 characters and a 6-character checksum', () => {
    const sandbox = mintManagementToken('sandbox').token;
    const live = mintManagementToken('production').token;
    expect(sandbox).toMatch(/^rg_sandbox_[0-9A-Za-z]{49}$/);
    expect(live).toMatch(/^rg_live_[0-9A-Za-z]{49}$/);
    expect(parseManagementToken(sandbox)).toBe('sandbox');
    expect(parseManagementToken(live)).toBe('production');
  });

  it('are different every time', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => mintManagementToken('sandbox').token));
    expect(tokens.size).toBe(200);
  });

  it('reject any single changed character without a lookup', () => {
    const { token } = mintManagementToken('production');
    for (let i = 'rg_live_'.length; i < token.length; i++) {
      const c = token[i] === 'a' ? 'b' : 'a';
      const typo = token.slice(0, i) + c + token.slice(i + 1);
      expect(parseManagementToken(typo), `position ${i}`).toBeUndefined();
    }
  });

  it('reject truncation, extension, a swapped prefix and junk', () => {
    const { token } = mintManagementToken('sandbox');
    expect(parseManagementToken(token.slice(0, -1))).toBeUndefined();
    expect(parseManagementToken(token + 'a')).toBeUndefined();
    expect(parseManagementToken(token.replace('rg_sandbox_', 'rg_live_'))).toBeUndefined();
    expect(parseManagementToken('rg_sandbox_' + '!'.repeat(49))).toBeUndefined();
    expect(parseManagementToken('')).toBeUndefined();
    expect(parseManagementToken('Bearer ' + token)).toBeUndefined();
  });

  it('store only a SHA-256 hash and show only a hint', () => {
    const minted = mintManagementToken('production');
    expect(minted.hash).toEqual(hashManagementToken(minted.token));
    expect(minted.hash).toHaveLength(32);
    expect(minted.hint).toBe(`rg_live_…${minted.token.slice(-4)}`);
    expect(managementTokenHint(minted.token)).not.toContain(minted.token.slice(8, 20));
  });
});
