// The embedded runner behind "npm install && npm start": a cluster made on a
// fresh data dir keeps its data across a stop and a start, and a second start
// on a running cluster attaches to it instead of starting another. It runs in
// every database mode, since it tests the runner rather than using a database.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../src/store/embedded-postgres.js';

async function queryOnce<R extends pg.QueryResultRow>(connectionString: string, sql: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

describe('startEmbeddedPostgres', () => {
  let dataDir: string;
  const started: EmbeddedPostgresServer[] = [];

  beforeAll(async () => {
    dataDir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'roomgate-embedded-test-')), 'data');
    // mkdtemp makes it 0700; as root, Postgres runs as the postgres user, which must get through it.
    await fs.chmod(path.dirname(dataDir), 0o755);
  });

  afterAll(async () => {
    for (const server of started.reverse()) await server.stop();
    await fs.rm(path.dirname(dataDir), { recursive: true, force: true });
  });

  it('initialises a fresh data dir, keeps data across a restart, and attaches when already running', async () => {
    const first = await startEmbeddedPostgres({ dataDir, database: 'roomgate_embedded' });
    started.push(first);
    expect(first.owned).toBe(true);
    const url = new URL(first.connectionString);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.pathname).toBe('/roomgate_embedded');
    const passwordFile = await fs.stat(path.join(dataDir, 'pg-password'));
    expect(passwordFile.mode & 0o777).toBe(0o600);
    await queryOnce(first.connectionString, 'CREATE TABLE notes (body text NOT NULL)');
    await queryOnce(first.connectionString, 'INSERT INTO notes (body) VALUES ($1)', ['kept']);
    await first.stop();
    await expect(queryOnce(first.connectionString, 'SELECT 1')).rejects.toThrow();

    const second = await startEmbeddedPostgres({ dataDir, database: 'roomgate_embedded' });
    started.push(second);
    expect(second.owned).toBe(true);
    expect(await queryOnce(second.connectionString, 'SELECT body FROM notes')).toEqual([{ body: 'kept' }]);
    const settings = await queryOnce<{ fsync: string; sync: string; listen: string }>(
      second.connectionString,
      `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sync,
              current_setting('listen_addresses') AS listen`,
    );
    expect(settings).toEqual([{ fsync: 'on', sync: 'on', listen: '127.0.0.1' }]);

    const attached = await startEmbeddedPostgres({ dataDir, database: 'roomgate_embedded' });
    started.push(attached);
    expect(attached.owned).toBe(false);
    expect(attached.connectionString).toBe(second.connectionString);
    await queryOnce(attached.connectionString, 'INSERT INTO notes (body) VALUES ($1)', ['via attach']);
    await attached.stop();
    expect(await queryOnce(second.connectionString, 'SELECT body FROM notes ORDER BY body')).toEqual([
      { body: 'kept' },
      { body: 'via attach' },
    ]);
  });
});
