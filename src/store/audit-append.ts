import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PendingAuditRecord } from '../context/audit-scope.js';
import { actorIdOf, auditHash, type AuditContent } from '../domain/audit-record.js';
import { query } from './pool.js';

const LOCK_HEAD = 'SELECT sequence::text AS sequence, hash FROM audit_chain_heads WHERE environment = $1 FOR UPDATE';

// One statement for the record and the head, so that the head's lock is held
// for two round trips (this and COMMIT) after it is granted.
const INSERT_AND_ADVANCE = `WITH record AS (
  INSERT INTO audit_events (environment, sequence, id, time, actor_kind, actor_id, actor_name, actor_hint,
    actor_room_id, method, targets, target_ids, request_id, result, error_reason, previous_hash, hash)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
)
UPDATE audit_chain_heads SET sequence = $2, hash = $17 WHERE environment = $1`;

/**
 * Appends `pending` to its environment's hash chain inside the caller's
 * transaction. The head row's lock serializes every audited change of the
 * environment, on every instance, until COMMIT: callers append last, just
 * before COMMIT (withTransaction does), so the lock is held as briefly as
 * possible.
 */
export async function appendAuditRecord(client: pg.PoolClient, pending: PendingAuditRecord): Promise<void> {
  const { rows } = await query<{ sequence: string; hash: string }>(client, LOCK_HEAD, [pending.environment]);
  const head = rows[0];
  if (!head) throw new Error(`no audit chain head for environment ${pending.environment}`);
  const content: AuditContent = {
    ...pending,
    sequence: (BigInt(head.sequence) + 1n).toString(),
    id: randomUUID(),
    // Taken under the lock: on one host, times follow the chain's order.
    time: new Date(),
  };
  const hash = auditHash(content, head.hash);
  const a = content.actor;
  await query(client, INSERT_AND_ADVANCE, [
    content.environment,
    content.sequence,
    content.id,
    content.time,
    a.kind,
    actorIdOf(a),
    a.kind === 'management_token' ? a.name : '',
    a.kind === 'management_token' ? a.hint : '',
    a.kind === 'peer_token' ? a.roomId : '',
    content.method,
    JSON.stringify(content.targets.map((t) => ({ type: t.type, id: t.id }))),
    content.targets.map((t) => t.id),
    content.requestId,
    content.result,
    content.errorReason,
    head.hash,
    hash,
  ]);
}
