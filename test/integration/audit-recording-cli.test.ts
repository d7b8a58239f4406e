// The audit log's records of the `roomgate` command: every mutating command
// (token create, token revoke, keys rotate, and the first start's bootstrap
// token) leaves exactly one record with actor `cli` and the OS user; listing
// commands leave none. The compiled bin runs in child processes (`npm test`
// builds first) against a database of this file's own, which an in-process
// roomgate set up (migrations, the first signing key).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCliCommand } from '../../src/cli/cli-audit.js';
import { systemClock } from '../../src/domain/clock.js';
import { NO_CACHE } from '../../src/domain/cache-invalidator.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import { hashManagementToken } from '../../src/domain/management-token.js';
import { ManagementTokenManager } from '../../src/domain/management-token-manager.js';
import { PageTokens } from '../../src/domain/pagination.js';
import { PgManagementTokenStore } from '../../src/store/management-token-store.js';
import { chainProblems, type AuditRow } from '../support/audit-records.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { baseEnv, ROOMGATE_BIN } from '../support/server-process.js';

const run = promisify(execFile);
let t: TestRoomgate;
let env: Record<string, string>;
const OS_USER = userInfo().username;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

beforeAll(async () => {
  t = await startTestRoomgate({ ROOMGATE_RELAY_ENABLED: 'false' });
  env = {
    ...baseEnv,
    DATABASE_URL: t.db.connectionString,
    ROOMGATE_KEY_ENCRYPTION_KEY: t.config.keyEncryptionKey!.toString('base64'),
  };
});
afterAll(() => t?.close());

const roomgate = async (...args: string[]) => (await run(process.execPath, [ROOMGATE_BIN, ...args], { env })).stdout;

/** Runs `roomgate <args>` and returns the audit records it added, in chain order. */
async function recordsOf(...args: string[]): Promise<{ stdout: string; rows: AuditRow[] }> {
  const before = await t.db.pool.query<{ id: string }>('SELECT id FROM audit_events');
  const seen = new Set(before.rows.map((r) => r.id));
  const stdout = await roomgate(...args);
  const { rows } = await t.db.pool.query<AuditRow>('SELECT * FROM audit_events ORDER BY environment, sequence');
  return { stdout, rows: rows.filter((r) => !seen.has(r.id)) };
}

const cliActor = { actor_kind: 'cli', actor_id: OS_USER, actor_name: '', actor_hint: '', actor_room_id: '' };

describe('mutating CLI commands', () => {
  let created: string;
  let createdId: string;

  it('token create: one record in its environment, naming the new token', async () => {
    const { stdout, rows } = await recordsOf('token', 'create', '--environment', 'production', '--name', 'ops');
    created = stdout.trim();
    const found = await t.db.pool.query<{ id: string }>('SELECT id FROM management_tokens WHERE token_hash = $1', [hashManagementToken(created)]);
    createdId = found.rows[0]!.id;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      environment: 'production',
      method: 'cli token create',
      ...cliActor,
      targets: [{ type: 'management_token', id: createdId }],
      result: 'OK',
      error_reason: '',
    });
    expect(rows[0]!.request_id).toMatch(UUID);
    expect(JSON.stringify(rows)).not.toContain(created.slice(0, -4));
  });

  it('token revoke: one record in the token\'s environment, though the command names none', async () => {
    const { rows } = await recordsOf('token', 'revoke', createdId, '--grace', '1h');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      environment: 'production',
      method: 'cli token revoke',
      ...cliActor,
      targets: [{ type: 'management_token', id: createdId }],
      result: 'OK',
    });
  });

  it('keys rotate: one record, in production (keys belong to no environment), naming the new key', async () => {
    const { rows } = await recordsOf('keys', 'rotate', '--prepublish-seconds', '0');
    const kid = (await t.db.pool.query<{ kid: string }>('SELECT kid FROM signing_keys ORDER BY created_at DESC LIMIT 1')).rows[0]!.kid;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      environment: 'production',
      method: 'cli keys rotate',
      ...cliActor,
      targets: [{ type: 'signing_key', id: kid }],
    });
  });

  it('listing commands leave no record', async () => {
    expect((await recordsOf('token', 'list', '--environment', 'production')).rows).toEqual([]);
    expect((await recordsOf('keys', 'list')).rows).toEqual([]);
  });

  it('a revoke of no token leaves no record', async () => {
    const failed = await roomgate('token', 'revoke', '00000000-0000-4000-8000-000000000000').catch((e: { code: number }) => e);
    expect(failed).toMatchObject({ code: 1 });
    expect(await chainProblems(t.db.pool, 'production')).toEqual([]);
    const { rows } = await t.db.pool.query('SELECT method FROM audit_events WHERE environment = $1 ORDER BY sequence', ['production']);
    expect(rows.map((r) => r.method)).toEqual(['cli token create', 'cli token revoke', 'cli keys rotate']);
  });
});

describe('the first start\'s bootstrap token', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  // As src/main.ts makes it on an embedded install's first start (cli.test.ts runs that start for real).
  const bootstrap = () =>
    asCliCommand('serve', 'sandbox', () =>
      new ManagementTokenManager(new PgManagementTokenStore(db.pool), systemClock, DEFAULT_LIMITS, NO_CACHE, new PageTokens(randomBytes(32))).bootstrap(),
    );

  it('is recorded once, as the operator\'s `cli serve`; a later start that makes none records nothing', async () => {
    const token = await bootstrap();
    expect(token).toMatch(/^rg_sandbox_/);
    expect(await bootstrap()).toBeUndefined();
    const { rows } = await db.pool.query<AuditRow>('SELECT * FROM audit_events');
    const id = (await db.pool.query<{ id: string }>('SELECT id FROM management_tokens')).rows[0]!.id;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ environment: 'sandbox', method: 'cli serve', ...cliActor, targets: [{ type: 'management_token', id }] });
    expect(JSON.stringify(rows)).not.toContain(token!.slice(0, -4));
  });
});
