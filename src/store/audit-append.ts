import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PendingAuditRecord } from '../context/audit-scope.js';
import { actorFieldsOf, auditCanonicalForm, type AuditContent } from '../domain/audit-record.js';
import { query } from './pool.js';

// One statement locks the environment's chain head (FOR UPDATE), inserts the
// record after it and advances it, so that the lock, which serializes every
// audited change of the environment on every instance, is held for this
// statement and COMMIT only: no round trip, and no turn of a busy event loop,
// between taking it and releasing it. The hash is auditHash's, computed here
// from the canonical form's text around the two values only the head knows
// (sequence and previous hash: digits and hex, which JSON leaves as they are).
// A head updated by a concurrent append is waited for and then read as
// committed (READ COMMITTED's FOR UPDATE), and the UPDATE follows it too.
const APPEND = `WITH record AS (
  INSERT INTO audit_events (environment, sequence, id, time, actor_kind, actor_id, actor_name, actor_hint,
    actor_room_id, method, targets, target_ids, request_id, result, error_reason, previous_hash, hash)
  SELECT h.environment, h.sequence + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, h.hash,
    encode(sha256(convert_to($15::text || (h.sequence + 1)::text || $16::text || h.hash || '"]', 'UTF8')), 'hex')
  FROM audit_chain_heads h WHERE h.environment = $1
  FOR UPDATE
  RETURNING sequence, hash
)
UPDATE audit_chain_heads h SET sequence = r.sequence, hash = r.hash FROM record r WHERE h.environment = $1`;

/**
 * The canonical form of `content` split around its sequence and previous
 * hash: `before + sequence + between + previousHash + '"]'` is
 * auditCanonicalForm's text.
 */
function canonicalAround(content: Omit<AuditContent, 'sequence'>): { before: string; between: string } {
  const empty = auditCanonicalForm({ ...content, sequence: '' }, '');
  const before = JSON.stringify(['roomgate.audit.v1', content.environment]).slice(0, -1) + ',"';
  if (!empty.startsWith(`${before}",`) || !empty.endsWith(',""]')) throw new Error('unexpected canonical audit form');
  return { before, between: empty.slice(before.length, -2) };
}

/**
 * Appends `pending` to its environment's hash chain inside the caller's
 * transaction. The head's lock is held until COMMIT: callers append last,
 * just before COMMIT, as withTransaction does.
 */
export async function appendAuditRecord(client: pg.PoolClient, pending: PendingAuditRecord): Promise<void> {
  // Taken before the lock: times of concurrent calls may be a little out of chain order.
  const content = { ...pending, id: randomUUID(), time: new Date() };
  const { before, between } = canonicalAround(content);
  const a = actorFieldsOf(content.actor);
  const { rowCount } = await query(client, APPEND, [
    content.environment,
    content.id,
    content.time,
    content.actor.kind,
    a.id,
    a.name,
    a.hint,
    a.roomId,
    content.method,
    JSON.stringify(content.targets.map((t) => ({ type: t.type, id: t.id }))),
    content.targets.map((t) => t.id),
    content.requestId,
    content.result,
    content.errorReason,
    before,
    between,
  ]);
  if (rowCount !== 1) throw new Error(`no audit chain head for environment ${content.environment}`);
}
