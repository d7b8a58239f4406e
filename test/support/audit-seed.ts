// Appends audit records through SQL exactly as the chain requires (lock the
// head row, hash with auditHash over the head's hash, insert, move the head),
// for tests of the reading side that must not depend on which RPCs record.
// It runs against whatever test database it is given (see database.ts).
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { actorFieldsOf, auditHash, type AuditActor, type AuditContent, type AuditRecord, type AuditTarget } from '../../src/domain/audit-record.js';
import type { Environment } from '../../src/domain/principal.js';

/** What a seeded record may set; the rest gets plain defaults. */
export interface SeedRecord {
  environment?: Environment;
  time?: Date;
  actor?: AuditActor;
  method?: string;
  targets?: AuditTarget[];
  requestId?: string;
  result?: string;
  errorReason?: string;
}

/** Appends `seeds` in order, in one transaction: the head row locked once, each record hashed over the one before. */
async function appendAll(pool: pg.Pool, seeds: SeedRecord[]): Promise<AuditRecord[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Heads in a fixed order, as locks taken in one order cannot deadlock.
    const environments = [...new Set(seeds.map((s) => s.environment ?? 'sandbox'))].sort();
    const heads = new Map<Environment, { sequence: bigint; hash: string }>();
    for (const environment of environments) {
      const { rows } = await client.query<{ sequence: string; hash: string }>(
        'SELECT sequence::text, hash FROM audit_chain_heads WHERE environment = $1 FOR UPDATE',
        [environment],
      );
      heads.set(environment, { sequence: BigInt(rows[0]!.sequence), hash: rows[0]!.hash });
    }
    const records: AuditRecord[] = [];
    for (const seed of seeds) {
      const environment = seed.environment ?? 'sandbox';
      const head = heads.get(environment)!;
      const content: AuditContent = {
        environment,
        sequence: (head.sequence + 1n).toString(),
        id: randomUUID(),
        // Milliseconds, as the column keeps what was hashed.
        time: new Date(Math.floor((seed.time ?? new Date()).getTime())),
        actor: seed.actor ?? { kind: 'management_token', tokenId: randomUUID(), name: 'seed', hint: 'rg_sandbox_…seed' },
        method: seed.method ?? 'roomgate.v1.RoomService/CreateRoom',
        targets: seed.targets ?? [{ type: 'room', id: randomUUID() }],
        requestId: seed.requestId ?? randomUUID(),
        result: seed.result ?? 'OK',
        errorReason: seed.errorReason ?? '',
      };
      const hash = auditHash(content, head.hash);
      records.push({ ...content, previousHash: head.hash, hash });
      heads.set(environment, { sequence: head.sequence + 1n, hash });
    }
    // One INSERT per thousand rows, from JSON, rather than a round trip per record.
    for (let i = 0; i < records.length; i += 1000) {
      const rows = records.slice(i, i + 1000).map((r) => {
        const a = actorFieldsOf(r.actor);
        return {
          environment: r.environment,
          sequence: r.sequence,
          id: r.id,
          time: r.time.toISOString(),
          actor_kind: r.actor.kind,
          actor_id: a.id,
          actor_name: a.name,
          actor_hint: a.hint,
          actor_room_id: a.roomId,
          method: r.method,
          targets: r.targets,
          target_ids: r.targets.map((t) => t.id),
          request_id: r.requestId,
          result: r.result,
          error_reason: r.errorReason,
          previous_hash: r.previousHash,
          hash: r.hash,
        };
      });
      await client.query('INSERT INTO audit_events SELECT * FROM jsonb_populate_recordset(null::audit_events, $1)', [JSON.stringify(rows)]);
    }
    for (const [environment, head] of heads) {
      await client.query('UPDATE audit_chain_heads SET sequence = $2, hash = $3 WHERE environment = $1', [environment, head.sequence.toString(), head.hash]);
    }
    await client.query('COMMIT');
    return records;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

/** Appends one record to its environment's chain, in a transaction of its own; returns it as stored. */
export async function appendAuditRecord(pool: pg.Pool, seed: SeedRecord = {}): Promise<AuditRecord> {
  return (await appendAll(pool, [seed]))[0]!;
}

/** Appends `count` records made by `seed(i)`, in chain order, in one transaction; returns them. */
export function appendAuditRecords(pool: pg.Pool, count: number, seed: (i: number) => SeedRecord = () => ({})): Promise<AuditRecord[]> {
  return appendAll(pool, Array.from({ length: count }, (_, i) => seed(i)));
}
