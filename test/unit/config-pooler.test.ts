// Issue 12: the settings for a transaction-mode pooler in front of Postgres
// (docs/scaling.md): DATABASE_URL is the pooler, ROOMGATE_DIRECT_DATABASE_URL
// the session-capable URL that LISTEN and migrations need.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

const KEK = randomBytes(32).toString('base64');
const POOLER = 'postgres://roomgate@pgbouncer:6432/roomgate';
const DIRECT = 'postgres://roomgate@postgres:5432/roomgate';

describe('transaction pooling settings', () => {
  it('default to a direct DATABASE_URL: named statements on, no separate URL', () => {
    const config = loadConfig({ DATABASE_URL: DIRECT, ROOMGATE_KEY_ENCRYPTION_KEY: KEK });
    expect(config.dbTransactionPooling).toBe(false);
    expect(config.directDatabaseUrl).toBeUndefined();
  });

  it('refuse transaction pooling without a direct URL, where LISTEN would subscribe a pooled connection and hear nothing', () => {
    expect(() =>
      loadConfig({ DATABASE_URL: POOLER, ROOMGATE_KEY_ENCRYPTION_KEY: KEK, ROOMGATE_DB_TRANSACTION_POOLING: 'true' }),
    ).toThrow(/ROOMGATE_DIRECT_DATABASE_URL: is required with ROOMGATE_DB_TRANSACTION_POOLING=true/);
    const config = loadConfig({
      DATABASE_URL: POOLER,
      ROOMGATE_DIRECT_DATABASE_URL: DIRECT,
      ROOMGATE_KEY_ENCRYPTION_KEY: KEK,
      ROOMGATE_DB_TRANSACTION_POOLING: 'true',
    });
    expect(config).toMatchObject({ databaseUrl: POOLER, directDatabaseUrl: DIRECT, dbTransactionPooling: true });
  });

  it('refuse a direct URL without DATABASE_URL, and one that is not a postgres:// URL', () => {
    expect(() => loadConfig({ ROOMGATE_DIRECT_DATABASE_URL: DIRECT })).toThrow(/DATABASE_URL: is required with ROOMGATE_DIRECT_DATABASE_URL/);
    expect(() =>
      loadConfig({ DATABASE_URL: POOLER, ROOMGATE_KEY_ENCRYPTION_KEY: KEK, ROOMGATE_DIRECT_DATABASE_URL: 'pgbouncer:6432' }),
    ).toThrow(/ROOMGATE_DIRECT_DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(() => loadConfig({ ROOMGATE_DB_TRANSACTION_POOLING: 'yes' })).toThrow(/ROOMGATE_DB_TRANSACTION_POOLING/);
  });
});
