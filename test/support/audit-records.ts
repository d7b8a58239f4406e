// The audit log as stored: rows read straight from audit_events, and the
// chain checked by recomputing every hash with the production auditHash.
// Isolation is the caller's database (see database.ts).
import type pg from 'pg';
import { auditHash, GENESIS_HASH, type AuditActor, type AuditContent } from '../../src/domain/audit-record.js';
import type { Environment } from '../../src/domain/principal.js';
import type { AuditRow } from '../../src/store/audit-store.js';

export type { AuditRow };

/** The records of the calls made with x-request-id `requestId`, in chain order. */
export async function auditRowsOf(pool: pg.Pool, requestId: string): Promise<AuditRow[]> {
  const { rows } = await pool.query<AuditRow>(
    'SELECT * FROM audit_events WHERE request_id = $1 ORDER BY environment, sequence',
    [requestId],
  );
  return rows;
}

/** Every record of `environment`, in chain order. */
export async function auditChainOf(pool: pg.Pool, environment: Environment): Promise<AuditRow[]> {
  const { rows } = await pool.query<AuditRow>(
    'SELECT * FROM audit_events WHERE environment = $1 ORDER BY sequence',
    [environment],
  );
  return rows;
}

/** The record's content as the hash covers it, rebuilt from its columns. */
export function contentOf(row: AuditRow): AuditContent {
  const actor: AuditActor =
    row.actor_kind === 'management_token'
      ? { kind: 'management_token', tokenId: row.actor_id, name: row.actor_name, hint: row.actor_hint }
      : row.actor_kind === 'peer_token'
        ? { kind: 'peer_token', peerId: row.actor_id, roomId: row.actor_room_id }
        : { kind: 'cli', osUser: row.actor_id };
  return {
    environment: row.environment,
    sequence: row.sequence,
    id: row.id,
    time: row.time,
    actor,
    method: row.method,
    targets: row.targets,
    requestId: row.request_id,
    result: row.result,
    errorReason: row.error_reason,
  };
}

/**
 * Problems of a whole chain (from sequence 1): a gap, a previous_hash that is
 * not the hash before it, a hash that does not recompute, or a head that is
 * not the last record. Empty when the chain is sound.
 */
export async function chainProblems(pool: pg.Pool, environment: Environment): Promise<string[]> {
  const rows = await auditChainOf(pool, environment);
  const problems: string[] = [];
  let previous = GENESIS_HASH;
  rows.forEach((row, i) => {
    if (row.sequence !== String(i + 1)) problems.push(`record ${i + 1} has sequence ${row.sequence}`);
    if (row.previous_hash !== previous) problems.push(`record ${row.sequence}: previous_hash does not link`);
    if (auditHash(contentOf(row), row.previous_hash) !== row.hash) problems.push(`record ${row.sequence}: hash does not recompute`);
    previous = row.hash;
  });
  const head = await pool.query<{ sequence: string; hash: string }>(
    'SELECT sequence::text AS sequence, hash FROM audit_chain_heads WHERE environment = $1',
    [environment],
  );
  if (head.rows[0]?.sequence !== String(rows.length) || head.rows[0]?.hash !== previous) {
    problems.push(`the head (${head.rows[0]?.sequence}) is not the last record (${rows.length})`);
  }
  return problems;
}
