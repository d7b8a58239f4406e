// The `roomgate` command as a user runs it: the compiled bin in child
// processes (`npm test` builds first), against the test database with
// DATABASE_URL, and in embedded mode on a data directory of its own.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRoomgateClient } from '../../src/client/index.js';
import { loadMigrations } from '../../src/store/migrate.js';
import { createTestDatabase, databaseUrl, runAdminStatement, type TestDatabase } from '../support/database.js';
import { expectStatus } from '../support/roomgate.js';
import { baseEnv, freePort, ROOMGATE_BIN as BIN, serveRoomgate as serve, stopRoomgate as stop } from '../support/server-process.js';

const run = promisify(execFile);

describe('roomgate CLI with DATABASE_URL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('token create prints only the token on stdout, and stores only its hash', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'token', 'create', '--environment', 'production', '--name', 'ci'], {
      env: { ...baseEnv, DATABASE_URL: db.connectionString },
    });
    expect(stdout).toMatch(/^rg_live_[0-9A-Za-z]{49}\n$/);
    const token = stdout.trim();
    const { rows } = await db.pool.query('SELECT name, hint, environment FROM management_tokens');
    expect(rows).toEqual([{ name: 'ci', hint: `rg_live_…${token.slice(-4)}`, environment: 'production' }]);
    const dump = JSON.stringify((await db.pool.query('SELECT * FROM management_tokens')).rows);
    expect(dump).not.toContain(token.slice(8));
  });

  it('token create takes scopes and expiry; list shows no secret; revoke stops the token, with a grace period', async () => {
    const env = { env: { ...baseEnv, DATABASE_URL: db.connectionString } };
    const reader = (
      await run(process.execPath, [BIN, 'token', 'create', '-e', 'sandbox', '--name', 'reader', '--scope', 'read,verify', '--expires-in', '90d'], env)
    ).stdout.trim();
    const listed = (await run(process.execPath, [BIN, 'token', 'list', '-e', 'sandbox'], env)).stdout;
    expect(listed).toMatch(/^ID\s+NAME\s+HINT\s+SCOPES/);
    const line = listed.split('\n').find((l) => l.includes(' reader '))!;
    expect(line).toContain(`rg_sandbox_…${reader.slice(-4)}`);
    expect(line).toContain('read,verify');
    expect(line).toMatch(/active$/);
    expect(listed).not.toContain(reader.slice(11, 30));
    const id = line.split(/\s+/)[0]!;

    const graced = (await run(process.execPath, [BIN, 'token', 'revoke', id, '--grace', '1h'], env)).stdout;
    expect(graced).toMatch(/active$/m);
    const revoked = (await run(process.execPath, [BIN, 'token', 'revoke', id], env)).stdout;
    expect(revoked).toMatch(/inactive$/m);
    const { rows } = await db.pool.query('SELECT revoked_at <= now() AS done, scopes FROM management_tokens WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ done: true, scopes: ['read', 'verify'] });

    const missing = await run(process.execPath, [BIN, 'token', 'revoke', '00000000-0000-4000-8000-00000000dead'], env).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(missing).toMatchObject({ code: 1 });
    expect((missing as { stderr: string }).stderr).toMatch(/no management token with id/);
    const badScope = await run(process.execPath, [BIN, 'token', 'create', '-e', 'sandbox', '--scope', 'root'], env).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(badScope).toMatchObject({ code: 2 });
    expect((badScope as { stderr: string }).stderr).toMatch(/scopes: must be among admin, rooms, verify, read, audit/);
  });

  it('migrate applies the schema to an empty database', async () => {
    const empty = `${db.name}_empty`;
    await runAdminStatement(inject('databaseAdminUrl'), (c) => `CREATE DATABASE ${c.escapeIdentifier(empty)}`);
    const url = databaseUrl(inject('databaseAdminUrl'), empty);
    try {
      const { stderr } = await run(process.execPath, [BIN, 'migrate'], { env: { ...baseEnv, DATABASE_URL: url } });
      expect(stderr).toContain('migrations applied');
      const check = new pg.Client({ connectionString: url });
      await check.connect();
      const { rows } = await check.query('SELECT version FROM schema_migrations ORDER BY version');
      await check.end();
      expect(rows.map((r: { version: number }) => r.version)).toEqual((await loadMigrations()).map((m) => m.version));
      expect(rows.length).toBeGreaterThanOrEqual(2);
    } finally {
      await runAdminStatement(inject('databaseAdminUrl'), (c) => `DROP DATABASE ${c.escapeIdentifier(empty)} WITH (FORCE)`);
    }
  });

  it('answers --help for every command without touching a database', async () => {
    for (const args of [['--help'], ['serve', '--help'], ['migrate', '--help'], ['token', '--help'], ['token', 'create', '--help'], ['keys', '--help'], ['health', '--help']]) {
      const { stdout } = await run(process.execPath, [BIN, ...args], { env: { ...baseEnv, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } });
      expect(stdout, args.join(' ')).toMatch(/Usage/);
    }
    const extra = await run(process.execPath, [BIN, 'serve', 'now'], { env: baseEnv }).catch((e: { code: number; stderr: string }) => e);
    expect(extra).toMatchObject({ code: 2 });
    expect((extra as { stderr: string }).stderr).toMatch(/serve takes no arguments/);
  });

  it('explains bad usage and bad configuration with exit code 2', async () => {
    const bad = await run(process.execPath, [BIN, 'token', 'create', '--environment', 'staging'], {
      env: { ...baseEnv, DATABASE_URL: db.connectionString },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/--environment must be one of: sandbox, production/);
    const noKey = await run(process.execPath, [BIN, 'serve'], { env: { ...baseEnv, DATABASE_URL: db.connectionString } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(noKey).toMatchObject({ code: 2 });
    expect((noKey as { stderr: string }).stderr).toMatch(/ROOMGATE_KEY_ENCRYPTION_KEY: is required when DATABASE_URL is set/);
  });

  it('serve never prints a bootstrap token with DATABASE_URL, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const { child, stdout } = await serve({
      DATABASE_URL: db.connectionString,
      ROOMGATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ROOMGATE_GRPC_ADDRESS: `127.0.0.1:${port}`,
    });
    expect(stdout()).not.toMatch(/rg_sandbox_/);
    // `roomgate health` is what the Docker HEALTHCHECK runs.
    const healthy = await run(process.execPath, [BIN, 'health'], { env: { ...baseEnv, ROOMGATE_GRPC_ADDRESS: `127.0.0.1:${port}` } });
    expect(healthy.stdout).toBe('SERVING\n');
    expect(await stop(child)).toBe(0);
    const down = await run(process.execPath, [BIN, 'health', '--address', `127.0.0.1:${port}`, '--timeout-ms', '500'], {
      env: baseEnv,
    }).catch((e: { code: number; stdout: string }) => e);
    expect(down).toMatchObject({ code: 1 });
    expect((down as { stdout: string }).stdout).toMatch(/^unreachable: /);

    // The signing key it created is encrypted under that KEK: another one is refused at start.
    const wrongKek = await run(process.execPath, [BIN, 'serve'], {
      env: {
        ...baseEnv,
        DATABASE_URL: db.connectionString,
        ROOMGATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        ROOMGATE_GRPC_ADDRESS: `127.0.0.1:${await freePort()}`,
      },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(wrongKek).toMatchObject({ code: 1 });
    expect((wrongKek as { stderr: string }).stderr).toMatch(/does not decrypt: the key-encryption key \(ROOMGATE_KEY_ENCRYPTION_KEY\) is not the one/);
  });
});

describe('roomgate in embedded mode (npm start)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'roomgate-cli-'));
    // As root, embedded Postgres runs as the postgres user, which must reach the data directory.
    await chmod(dir, 0o755);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes a sandbox token once on first start to a 0600 file, never to stdout or a non-terminal stderr, serves with it, and keeps data across restarts', async () => {
    const port = await freePort();
    const env = { ROOMGATE_DATA_DIR: path.join(dir, 'data'), ROOMGATE_GRPC_ADDRESS: `127.0.0.1:${port}` };
    const first = await serve(env);
    const file = path.join(dir, 'data', 'bootstrap-token');
    const bootstrap = (await readFile(file, 'utf8')).trim();
    expect(bootstrap).toMatch(/^rg_sandbox_[0-9A-Za-z]{49}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // stdout is the JSON log stream a shipper collects: every line is JSON, and none holds the token.
    for (const line of first.stdout().split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    expect(first.stdout()).not.toContain(bootstrap);
    expect(first.stdout()).toContain(JSON.stringify(file));
    expect(first.stderr()).not.toContain(bootstrap);
    const client = createRoomgateClient(`127.0.0.1:${port}`, { token: bootstrap });
    const { room } = await client.rooms.createRoom({ name: 'persisted' });

    // token create attaches to the running embedded Postgres.
    const { stdout } = await run(process.execPath, [BIN, 'token', 'create', '--environment', 'sandbox'], { env: { ...baseEnv, ...env } });
    const second = stdout.trim();
    expect((await client.rooms.getRoom({ roomId: room!.id }, { token: second })).room!.name).toBe('persisted');
    client.close();
    expect(await stop(first.child)).toBe(0);

    // With no server running, token create starts and stops Postgres itself.
    const offline = (await run(process.execPath, [BIN, 'token', 'create', '--environment', 'sandbox'], { env: { ...baseEnv, ...env } })).stdout.trim();
    expect(offline).toMatch(/^rg_sandbox_/);

    const restarted = await serve(env);
    expect(restarted.stdout()).not.toMatch(/rg_sandbox_/);
    const again = createRoomgateClient(`127.0.0.1:${port}`, { token: bootstrap });
    expect((await again.rooms.getRoom({ roomId: room!.id })).room!.name).toBe('persisted');
    expect((await again.rooms.getRoom({ roomId: room!.id }, { token: offline })).room!.name).toBe('persisted');
    await expectStatus(again.rooms.getRoom({ roomId: room!.id }, { token: 'rg_sandbox_nope' }), status.UNAUTHENTICATED);
    again.close();
    expect(await stop(restarted.child)).toBe(0);
  }, 120_000);
});
