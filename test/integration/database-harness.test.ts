// Proves the isolation that every other integration test relies on: each
// createTestDatabase() call yields its own copy of the migrated template.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('test database harness', () => {
  let first: TestDatabase;
  let second: TestDatabase;

  beforeAll(async () => {
    [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });

  afterAll(async () => {
    await Promise.all([first?.drop(), second?.drop()]);
  });

  it('gives each caller a different database', () => {
    expect(first.name).not.toBe(second.name);
    expect(new URL(first.connectionString).pathname).toBe(`/${first.name}`);
  });

  it('copies a template on which the migrations have run', async () => {
    for (const db of [first, second]) {
      const versions = await db.pool.query<{ version: number }>(
        'SELECT version FROM schema_migrations ORDER BY version',
      );
      expect(versions.rows.map((r) => r.version)).toContain(1);
      const tables = await db.pool.query<{ name: string }>(
        `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`,
      );
      expect(tables.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['rooms', 'peers']));
      const rooms = await db.pool.query('SELECT count(*)::int AS n FROM rooms');
      expect(rooms.rows[0].n).toBe(0);
    }
  });

  it('keeps rows written to one database out of the other', async () => {
    const id = randomUUID();
    await first.pool.query(`INSERT INTO rooms (id, environment, name) VALUES ($1, 'sandbox', 'harness')`, [id]);

    const inFirst = await first.pool.query('SELECT id FROM rooms');
    expect(inFirst.rows).toEqual([{ id }]);
    const inSecond = await second.pool.query('SELECT id FROM rooms');
    expect(inSecond.rows).toEqual([]);
    // The same unique name is free in the other database.
    const again = randomUUID();
    await second.pool.query(`INSERT INTO rooms (id, environment, name) VALUES ($1, 'sandbox', 'harness')`, [again]);
  });

  it('drops the database and its sessions on drop()', async () => {
    const extra = await createTestDatabase();
    const client = new pg.Client({ connectionString: extra.connectionString });
    client.on('error', () => undefined);
    await client.connect();
    await extra.drop();
    await expect(client.query('SELECT 1')).rejects.toThrow();
    const stray = new pg.Client({ connectionString: extra.connectionString });
    stray.on('error', () => undefined);
    await expect(stray.connect()).rejects.toMatchObject({ code: '3D000' });
  });
});
