// `roomgate audit verify` and `roomgate audit export` as a user runs them: the
// compiled bin in child processes (`npm test` builds first), with
// DATABASE_URL on a database of this file's own (test/support/database.ts).
// Records are appended through SQL as the chain requires
// (test/support/audit-seed.ts); tampering is plain SQL, as an attacker with
// database access would do it, and each tampering test puts the rows back.
// A CLI process takes seconds to start on a busy machine, so the variants of
// tampering run the same walk in this process (verifyLines: verifyChain on
// PgAuditStore, printed by the CLI's own verdictLine), and the main ones run
// the real command.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/domain/audit-record.js';
import { verifyChain } from '../../src/domain/audit-verifier.js';
import { ENVIRONMENTS } from '../../src/domain/principal.js';
import { AuditEvent } from '../../src/gen/roomgate/v1/resources.js';
import { PgAuditStore } from '../../src/store/audit-store.js';
import { toAuditEvent, toAuditEventJson } from '../../src/transport/audit-mapper.js';
import { appendAuditRecord, appendAuditRecords } from '../support/audit-seed.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { baseEnv, ROOMGATE_BIN as BIN } from '../support/server-process.js';
import { verdictLine } from '../../src/cli/audit-commands.js';

const run = promisify(execFile);

let db: TestDatabase;
let sandbox: AuditRecord[];
let production: AuditRecord[];
const T0 = Date.UTC(2026, 2, 1, 0, 0, 0);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function roomgate(...args: string[]): Promise<Ran> {
  return run(process.execPath, [BIN, ...args], { env: { ...baseEnv, DATABASE_URL: db.connectionString }, maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

/** What `roomgate audit verify` would print, computed in this process with the CLI's own code. */
async function verifyLines(environments = ENVIRONMENTS): Promise<string> {
  const verdicts = await new PgAuditStore(db.pool).inSnapshot(async (s) => {
    const found = [];
    for (const e of environments) found.push(await verifyChain(s, e));
    return found;
  });
  return verdicts.map((v) => verdictLine(v) + '\n').join('');
}

/** Runs `change` (SQL tampering), then `check`, then puts every audit row back as it was. */
async function tampered(change: string, params: unknown[], check: () => Promise<void>): Promise<void> {
  const events = (await db.pool.query('SELECT to_jsonb(a) AS row FROM audit_events a')).rows;
  const heads = (await db.pool.query('SELECT to_jsonb(h) AS row FROM audit_chain_heads h')).rows;
  await db.pool.query(change, params);
  try {
    await check();
  } finally {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM audit_events');
      await client.query('INSERT INTO audit_events SELECT * FROM jsonb_populate_recordset(null::audit_events, $1)', [JSON.stringify(events.map((r) => r.row))]);
      await client.query('DELETE FROM audit_chain_heads');
      await client.query('INSERT INTO audit_chain_heads SELECT * FROM jsonb_populate_recordset(null::audit_chain_heads, $1)', [JSON.stringify(heads.map((r) => r.row))]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }
  expect(await verifyLines(), 'restored').not.toContain('BROKEN');
}

beforeAll(async () => {
  db = await createTestDatabase();
  // More than two of verify's batches of 1,000 in sandbox, interleaved in time with production.
  const peer = { kind: 'peer_token' as const, peerId: randomUUID(), roomId: randomUUID() };
  sandbox = await appendAuditRecords(db.pool, 2100, (i) => ({
    time: new Date(T0 + i * 1000),
    ...(i === 5 && { actor: peer, method: 'roomgate.v1.PeerService/UpdatePeerMetadata' }),
    ...(i === 6 && { actor: { kind: 'cli' as const, osUser: 'ops' }, method: 'cli keys rotate', targets: [{ type: 'signing_key' as const, id: 'k1' }] }),
  }));
  production = await appendAuditRecords(db.pool, 5, (i) => ({ environment: 'production', time: new Date(T0 + 500 + i * 1000) }));
}, 120_000);
afterAll(() => db?.drop());

describe('roomgate audit verify', () => {
  it('passes an unbroken chain and prints the count and the head hash', async () => {
    const ran = await roomgate('audit', 'verify');
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    const last = sandbox[sandbox.length - 1]!;
    expect(ran.stdout).toBe(
      `sandbox: OK, 2100 records (sequence 1-2100); head 2100 ${last.hash}\n` +
        `production: OK, 5 records (sequence 1-5); head 5 ${production[4]!.hash}\n`,
    );
    expect(await verifyLines(['production'])).toBe(`production: OK, 5 records (sequence 1-5); head 5 ${production[4]!.hash}\n`);
  });

  it.each([
    ['method', `UPDATE audit_events SET method = 'roomgate.v1.RoomService/GetRoom' WHERE environment = 'sandbox' AND sequence = $1`, 1500],
    ['time', `UPDATE audit_events SET time = time + interval '1 second' WHERE environment = 'sandbox' AND sequence = $1`, 2],
    ['result', `UPDATE audit_events SET result = 'PERMISSION_DENIED', error_reason = 'ERR_PERMISSION_DENIED' WHERE environment = 'sandbox' AND sequence = $1`, 1001],
    ['targets', `UPDATE audit_events SET targets = '[]', target_ids = '{}' WHERE environment = 'sandbox' AND sequence = $1`, 1000],
    ['the hash itself', `UPDATE audit_events SET hash = repeat('a', 64) WHERE environment = 'sandbox' AND sequence = $1`, 2100],
  ])('fails at the record whose %s was edited in the database, naming it', async (what, sql, sequence) => {
    const victim = sandbox[sequence - 1]!;
    await tampered(sql, [sequence], async () => {
      // The real command for one case; the same walk in this process for the others.
      const ran = what === 'method' ? await roomgate('audit', 'verify') : { code: 1, stdout: await verifyLines(), stderr: '' };
      expect(ran.code).toBe(1);
      expect(ran.stdout).toContain(`sandbox: BROKEN at sequence ${sequence} (id ${victim.id}): hash `);
      expect(ran.stdout).toContain('does not match its content');
      // The other environment is checked all the same.
      expect(ran.stdout).toContain('production: OK, 5 records');
    });
  });

  it('fails at a record whose previous_hash was edited, and at the record after one whose hash was recomputed', async () => {
    await tampered(`UPDATE audit_events SET previous_hash = repeat('b', 64) WHERE environment = 'sandbox' AND sequence = 7`, [], async () => {
      expect(await verifyLines()).toMatch(new RegExp(`^sandbox: BROKEN at sequence 7 \\(id ${sandbox[6]!.id}\\): previous_hash bbbbbbbbbbbb… is not the hash of sequence 6`));
    });
  });

  it('fails at an unhashed column that disagrees with the hashed content', async () => {
    // Record 6 was made with a peer token: its actor_name is empty and not hashed.
    await tampered(`UPDATE audit_events SET actor_name = 'someone else' WHERE environment = 'sandbox' AND sequence = 6`, [], async () => {
      expect(await verifyLines(['sandbox'])).toBe(`sandbox: BROKEN at sequence 6 (id ${sandbox[5]!.id}): actor_name disagree with the hashed content: changed in the database\n`);
    });
    await tampered(`UPDATE audit_events SET target_ids = '{other}' WHERE environment = 'sandbox' AND sequence = 7`, [], async () => {
      expect(await verifyLines(['sandbox'])).toContain(`BROKEN at sequence 7 (id ${sandbox[6]!.id}): target_ids disagree`);
    });
  });

  it('fails after a deleted record, naming the gap', async () => {
    await tampered(`DELETE FROM audit_events WHERE environment = 'sandbox' AND sequence = 1200`, [], async () => {
      const ran = await roomgate('audit', 'verify');
      expect(ran.code).toBe(1);
      expect(ran.stdout).toContain(`sandbox: BROKEN at sequence 1201 (id ${sandbox[1200]!.id}): does not follow on: record 1200 is missing`);
    });
    await tampered(`DELETE FROM audit_events WHERE environment = 'production' AND sequence IN (1, 2)`, [], async () => {
      expect(await verifyLines()).toContain(`production: BROKEN at sequence 3 (id ${production[2]!.id}): does not follow on: records 1-2 are missing`);
    });
  });

  it('fails when the last records are deleted, or the chain head is changed', async () => {
    await tampered(`DELETE FROM audit_events WHERE environment = 'production' AND sequence = 5`, [], async () => {
      expect(await verifyLines()).toContain('production: BROKEN at sequence 5 (chain head): the chain head names sequence 5 but the last record is 4: record 5 is missing');
    });
    await tampered(`UPDATE audit_chain_heads SET hash = repeat('c', 64) WHERE environment = 'sandbox'`, [], async () => {
      const ran = await roomgate('audit', 'verify');
      expect(ran.code).toBe(1);
      expect(ran.stdout).toContain("sandbox: BROKEN at sequence 2100 (chain head): the chain head's hash cccccccccccc… is not the hash of sequence 2100");
    });
    await tampered(`UPDATE audit_chain_heads SET anchor_sequence = 3, anchor_hash = repeat('d', 64) WHERE environment = 'production'`, [], async () => {
      expect(await verifyLines()).toContain(`production: BROKEN at sequence 1 (id ${production[0]!.id}): is at or below the anchor (sequence 3)`);
    });
  });

  it('refuses bad arguments with exit code 2 (each form is in test/unit/audit-commands.test.ts)', async () => {
    const ran = await roomgate('audit', 'verify', '--since', '1h');
    expect(ran).toMatchObject({ code: 2, stdout: '', stderr: 'roomgate: --since and --until apply to audit export only\n' });
  });
});

describe('roomgate audit export', () => {
  const lines = (stdout: string) => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

  it('writes the records since a time as JSON lines, oldest first across environments, with every field', async () => {
    const since = new Date(T0 + 2000).toISOString();
    const until = new Date(T0 + 6000).toISOString();
    const ran = await roomgate('audit', 'export', '--since', since, '--until', until);
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    // since inclusive, until exclusive; production's records sit half a second after sandbox's.
    const expected = [sandbox[2], production[2], sandbox[3], production[3], sandbox[4], production[4], sandbox[5]] as AuditRecord[];
    const got = lines(ran.stdout);
    expect(got).toEqual(expected.map((r) => JSON.parse(JSON.stringify(toAuditEventJson(r)))));
    // Proto3 JSON: any protobuf library reads a line back as an AuditEvent.
    expect(AuditEvent.fromJSON(got[5])).toEqual(toAuditEvent(production[4]!));
    expect(got[5]).toMatchObject({ environment: 'ENVIRONMENT_PRODUCTION', sequence: '5', actor: { kind: 'AUDIT_ACTOR_KIND_MANAGEMENT_TOKEN', peerId: '' } });
    expect(got[6]).toMatchObject({ actor: { kind: 'AUDIT_ACTOR_KIND_PEER_TOKEN', managementTokenName: '' }, hash: sandbox[5]!.hash, previousHash: sandbox[4]!.hash });
  });

  it('takes a duration back from now, and one environment', async () => {
    const recent = await appendAuditRecord(db.pool, { environment: 'production' });
    const ran = await roomgate('audit', 'export', '--since', '10m', '--environment', 'production');
    expect(ran.code).toBe(0);
    expect(lines(ran.stdout).map((l) => l.id)).toEqual([recent.id]);
    const all = await roomgate('audit', 'export', '--since', '2026-01-01T00:00:00Z');
    expect(lines(all.stdout)).toHaveLength(2100 + 6);
    // Oldest first, through every batch.
    const times = lines(all.stdout).map((l) => Date.parse(l.time as string));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('refuses a malformed --since with exit code 2 and nothing on stdout', async () => {
    const ran = await roomgate('audit', 'export', '--since', 'yesterday');
    expect(ran).toMatchObject({ code: 2, stdout: '' });
    expect(ran.stderr).toMatch(/^roomgate: --since must be an RFC 3339 time/);
  });
});
