// Migration 0005 on a database that already has webhook endpoints: the quota
// counter must start at the real count. Were it 0, deleting an endpoint would
// break the counter's CHECK (>= 0) and new endpoints would get past the quota.
// An empty database of its own (CREATE DATABASE on the test server), migrated
// to 0004, given endpoints, then migrated to the end.
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, expect, inject, it } from 'vitest';
import { loadMigrations, migrate } from '../../src/store/migrate.js';
import { PgWebhookStore } from '../../src/store/webhook-store.js';
import { databaseUrl, runAdminStatement } from '../support/database.js';

const name = `roomgate_quota_migration_${randomBytes(6).toString('hex')}`;
let pool: pg.Pool | undefined;

afterAll(async () => {
  await pool?.end();
  await runAdminStatement(inject('databaseAdminUrl'), (c) => `DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
});

it('starts each environment\'s endpoint count at the endpoints it already has', async () => {
  await runAdminStatement(inject('databaseAdminUrl'), (c) => `CREATE DATABASE ${c.escapeIdentifier(name)}`);
  pool = new pg.Pool({ connectionString: databaseUrl(inject('databaseAdminUrl'), name), max: 2 });
  const all = await loadMigrations();
  const before = all.filter((m) => m.version < 5);
  expect(all.map((m) => m.version)).toContain(5);
  await migrate(pool, before);
  const insert = (environment: string) =>
    pool!.query(`INSERT INTO webhook_endpoints (id, environment, url, secret_encrypted) VALUES ($1, $2, 'https://x.example/', '\\x00') RETURNING id`, [
      randomUUID(),
      environment,
    ]);
  const sandbox = [];
  for (let i = 0; i < 3; i += 1) sandbox.push((await insert('sandbox')).rows[0].id as string);
  await insert('production');
  await migrate(pool, all);

  const { rows } = await pool.query<{ environment: string; webhook_endpoint_count: number }>(
    'SELECT environment, webhook_endpoint_count FROM environment_usage ORDER BY environment',
  );
  expect(rows).toEqual([
    { environment: 'production', webhook_endpoint_count: 1 },
    { environment: 'sandbox', webhook_endpoint_count: 3 },
  ]);
  const store = new PgWebhookStore(pool);
  const endpoint = (id: string) => ({
    id, environment: 'sandbox' as const, url: 'https://x.example/', eventTypes: [], roomId: null, description: '', secretEncrypted: Buffer.from([0]),
  });
  // At the quota of 3 already: refused, until one of the old ones is deleted.
  await expect(store.insert(endpoint(randomUUID()), 3)).rejects.toMatchObject({ code: 'ERR_WEBHOOK_ENDPOINT_QUOTA_EXCEEDED' });
  expect(await store.delete('sandbox', sandbox[0]!)).toBe(true);
  await expect(store.insert(endpoint(randomUUID()), 3)).resolves.toMatchObject({ environment: 'sandbox' });
});
