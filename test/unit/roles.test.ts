// Role validation (src/domain/roles.ts), the ERR_ROLE_* messages, and the
// page tokens of ListRoles, which is ordered by name: pure functions, no
// database.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import { PageTokens, type PageScope } from '../../src/domain/pagination.js';
import { NO_PERMISSIONS } from '../../src/domain/principal.js';
import { roleInUse, roleName, roleQuotaExceeded, roleTerms, samePermissions } from '../../src/domain/roles.js';

function failure(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }
  throw new Error('expected a DomainError');
}

const terms = (fields: Partial<Parameters<typeof roleTerms>[0]> = {}) =>
  roleTerms({ permissions: undefined, tokenTtlSeconds: 0, metadata: '', description: '', ...fields }, DEFAULT_LIMITS);

describe('roleName', () => {
  it.each(['a', '0', 'viewer', 'stage-speaker', 'team_lead', '9lives', 'a'.repeat(64)])('accepts %j', (name) => {
    expect(roleName('name', name)).toBe(name);
  });

  it.each(['', 'A', 'Viewer', '-x', '_x', 'x y', 'x.y', 'x/y', 'é', 'a'.repeat(65), 'x\n'])('refuses %j, naming the field', (name) => {
    const err = failure(() => roleName('role', name));
    expect(err.code).toBe('ERR_INVALID_ARGUMENT');
    expect(err.field).toBe('role');
    expect(err.message).toMatch(name === '' ? /^role: is required$/ : /^role: must be 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit$/);
  });
});

describe('roleTerms', () => {
  it('fills the defaults: no permissions, 86400 s, "{}", no description', () => {
    expect(terms()).toEqual({ permissions: NO_PERMISSIONS, tokenTtlSeconds: 86_400, metadata: '{}', description: '' });
  });

  it('keeps what is given, and unset permissions are false', () => {
    expect(terms({ permissions: { ...NO_PERMISSIONS, canPublish: true }, tokenTtlSeconds: 60, metadata: '[1]', description: 'd'.repeat(512) })).toEqual({
      permissions: { ...NO_PERMISSIONS, canPublish: true },
      tokenTtlSeconds: 60,
      metadata: '[1]',
      description: 'd'.repeat(512),
    });
  });

  it.each([
    [{ tokenTtlSeconds: 59 }, 'token_ttl_seconds', 'must be 0 (meaning 86400) or between 60 and 86400'],
    [{ tokenTtlSeconds: 86_401 }, 'token_ttl_seconds', 'must be 0 (meaning 86400) or between 60 and 86400'],
    [{ metadata: 'nope' }, 'metadata', 'must be valid JSON text'],
    [{ metadata: `"${'x'.repeat(4095)}"` }, 'metadata', 'is 4097 bytes; the limit is 4096'],
    [{ description: 'd'.repeat(513) }, 'description', 'must be at most 512 characters'],
    [{ description: 'tab\there' }, 'description', 'must not contain control characters or invalid Unicode'],
  ])('refuses %j', (fields, field, problem) => {
    const err = failure(() => terms(fields));
    expect(err.field).toBe(field);
    expect(err.message).toBe(`${field}: ${problem}`);
  });
});

describe('messages', () => {
  it('ERR_ROLE_IN_USE says how many codes and what to do', () => {
    expect(roleInUse('guest', 1).message).toBe(
      'role "guest" cannot be deleted: 1 join code that can still be redeemed uses it; revoke them with RevokeJoinCode (ListJoinCodes shows them) or wait until they expire or are used up',
    );
    expect(roleInUse('guest', 3)).toMatchObject({ code: 'ERR_ROLE_IN_USE', metadata: { role: 'guest', joinCodeCount: '3' } });
    expect(roleInUse('guest', 3).message).toContain('3 join codes that can still be redeemed use it');
  });

  it('ERR_ROLE_QUOTA_EXCEEDED names the setting', () => {
    expect(roleQuotaExceeded(100).message).toContain('ROOMGATE_MAX_ROLES_PER_ENVIRONMENT');
  });

  it('samePermissions compares all five', () => {
    expect(samePermissions(NO_PERMISSIONS, { ...NO_PERMISSIONS })).toBe(true);
    for (const key of Object.keys(NO_PERMISSIONS)) expect(samePermissions(NO_PERMISSIONS, { ...NO_PERMISSIONS, [key]: true })).toBe(false);
  });
});

describe('ListRoles page tokens', () => {
  const pages = new PageTokens(randomBytes(32));
  const ROLES: PageScope = { environment: 'sandbox', list: 'roles' };

  it('round-trip names of every length, all of one length', () => {
    const tokens = ['a', 'viewer', 'z'.repeat(64)].map((name) => {
      const token = pages.encodeName(ROLES, name);
      expect(pages.decodeName(ROLES, token)).toBe(name);
      return token;
    });
    expect(new Set(tokens.map((t) => t.length)).size).toBe(1);
    expect(pages.decodeName(ROLES, '')).toBeUndefined();
  });

  it('are refused in another environment, another list, or altered', () => {
    const token = pages.encodeName(ROLES, 'viewer');
    for (const bad of [
      () => pages.decodeName({ environment: 'production', list: 'roles' }, token),
      () => pages.decodeName({ environment: 'sandbox', list: 'bans' }, token),
      () => pages.decodeName(ROLES, token.slice(0, -2) + (token.endsWith('AA') ? 'BA' : 'AA')),
      () => pages.decode({ environment: 'sandbox', list: 'roles' }, token),
    ]) {
      expect(failure(bad).message).toBe('page_token: is not a token returned by this list call');
    }
  });

  it('end a page of fewer rows than asked with no token', () => {
    const rows = ['a', 'b', 'c'].map((name) => ({ name }));
    expect(pages.pageByName(ROLES, rows, 3).nextPageToken).toBe('');
    const page = pages.pageByName(ROLES, rows, 2);
    expect(page.items).toEqual(rows.slice(0, 2));
    expect(pages.decodeName(ROLES, page.nextPageToken)).toBe('b');
  });
});
