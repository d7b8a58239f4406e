// Appends audit records through SQL exactly as the chain requires (lock the
// head row, hash with auditHash over the head's hash, insert, move the head),
// for tests of the reading side that must not depend on which RPCs record.
// It runs against whatever test database it is given (see database.ts).
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { actorIdOf, auditHash, type AuditActor, type AuditContent, type AuditRecord, type AuditTarget } from '../../src/domain/audit-record.js';
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

/** Appends one record to its environment's chain, in a transaction of its own; returns it as stored. */
export async function appendAuditRecord(pool: pg.Pool, seed: SeedRecord = {}): Promise<AuditRecord> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const environment = seed.environment ?? 'sandbox';
    const { rows } = await client.query<{ sequence: string; hash: string }>(
      'SELECT sequence::text, hash FROM audit_chain_heads WHERE environment = $1 FOR UPDATE',
      [environment],
    );
    const head = rows[0]!;
    // Milliseconds, as the column keeps what was hashed.
    const time = new Date(Math.floor((seed.time ?? new Date()).getTime()));
    const content: AuditContent = {
      environment,
      sequence: (BigInt(head.sequence) + 1n).toString(),
      id: randomUUID(),
      time,
      actor: seed.actor ?? { kind: 'management_token', tokenId: randomUUID(), name: 'seed', hint: 'rg_sandbox_…seed' },
      method: seed.method ?? 'roomgate.v1.RoomService/CreateRoom',
      targets: seed.targets ?? [{ type: 'room', id: randomUUID() }],
      requestId: seed.requestId ?? randomUUID(),
      result: seed.result ?? 'OK',
      errorReason: seed.errorReason ?? '',
    };
    const hash = auditHash(content, head.hash);
    const a = content.actor;
    await client.query(
      `INSERT INTO audit_events (environment, sequence, id, time, actor_kind, actor_id, actor_name, actor_hint, actor_room_id,
         method, targets, target_ids, request_id, result, error_reason, previous_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [
        environment,
        content.sequence,
        content.id,
        time,
        a.kind,
        actorIdOf(a),
        a.kind === 'management_token' ? a.name : '',
        a.kind === 'management_token' ? a.hint : '',
        a.kind === 'peer_token' ? a.roomId : '',
        content.method,
        JSON.stringify(content.targets),
        content.targets.map((t) => t.id),
        content.requestId,
        content.result,
        content.errorReason,
        head.hash,
        hash,
      ],
    );
    await client.query('UPDATE audit_chain_heads SET sequence = $2, hash = $3 WHERE environment = $1', [environment, content.sequence, hash]);
    await client.query('COMMIT');
    return { ...content, previousHash: head.hash, hash };
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

/** Appends `count` records made by `seed(i)`, one after another; returns them in chain order. */
export async function appendAuditRecords(pool: pg.Pool, count: number, seed: (i: number) => SeedRecord = () => ({})): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for (let i = 0; i < count; i++) records.push(await appendAuditRecord(pool, seed(i)));
  return records;
}
