import type pg from 'pg';
import type { AuditActor, AuditRecord, AuditTarget } from '../domain/audit-record.js';
import type { Environment } from '../domain/principal.js';
import type {
  AuditChainHead,
  AuditFilter,
  AuditRetentionStore,
  AuditSnapshot,
  AuditSnapshots,
  AuditStore,
  ListedAuditRecord,
  StoredAuditRecord,
} from '../domain/ports/index.js';
import { query, withTransaction } from './pool.js';

/** One row of audit_events as pg returns it (sequence, a bigint, as a decimal string). */
export interface AuditRow {
  environment: Environment;
  sequence: string;
  id: string;
  time: Date;
  actor_kind: AuditActor['kind'];
  actor_id: string;
  actor_name: string;
  actor_hint: string;
  actor_room_id: string;
  method: string;
  targets: AuditTarget[];
  target_ids: string[];
  request_id: string;
  result: string;
  error_reason: string;
  previous_hash: string;
  hash: string;
}

// sequence is read as text (a bigint); ORDER BY therefore names
// audit_events.sequence, or it would sort the text.
const COLUMNS = `environment, sequence::text, id, time, actor_kind, actor_id, actor_name, actor_hint, actor_room_id,
  method, targets, target_ids, request_id, result, error_reason, previous_hash, hash`;

function actorOf(r: AuditRow): AuditActor {
  if (r.actor_kind === 'management_token') return { kind: r.actor_kind, tokenId: r.actor_id, name: r.actor_name, hint: r.actor_hint };
  if (r.actor_kind === 'peer_token') return { kind: r.actor_kind, peerId: r.actor_id, roomId: r.actor_room_id };
  if (r.actor_kind === 'join_code') return { kind: r.actor_kind, joinCodeId: r.actor_id };
  return { kind: 'cli', osUser: r.actor_id };
}

function toRecord(r: AuditRow): AuditRecord {
  return {
    environment: r.environment,
    sequence: r.sequence,
    id: r.id,
    time: r.time,
    actor: actorOf(r),
    method: r.method,
    targets: r.targets.map((t) => ({ type: t.type, id: t.id })),
    requestId: r.request_id,
    result: r.result,
    errorReason: r.error_reason,
    previousHash: r.previous_hash,
    hash: r.hash,
  };
}

// Columns the hash does not cover: the actor columns its kind leaves empty,
// and target_ids, the filter's copy of the targets' ids. An edit of one of
// them changes what ListAuditEvents shows or finds without breaking a hash,
// so verification compares them with the hashed content.
function unhashed(r: AuditRow): string[] {
  const found: string[] = [];
  if (r.actor_kind !== 'management_token' && r.actor_name !== '') found.push('actor_name');
  if (r.actor_kind !== 'management_token' && r.actor_hint !== '') found.push('actor_hint');
  if (r.actor_kind !== 'peer_token' && r.actor_room_id !== '') found.push('actor_room_id');
  const ids = r.targets.map((t) => t.id);
  if (ids.length !== r.target_ids.length || ids.some((id, i) => id !== r.target_ids[i])) found.push('target_ids');
  return found;
}

const toStored = (r: AuditRow): StoredAuditRecord => ({ ...toRecord(r), unhashed: unhashed(r) });

class PgAuditSnapshot implements AuditSnapshot {
  constructor(private readonly client: pg.PoolClient) {}

  async head(environment: Environment): Promise<AuditChainHead> {
    const { rows } = await query<AuditChainHead>(
      this.client,
      `SELECT environment, sequence::text AS sequence, hash, anchor_sequence::text AS "anchorSequence", anchor_hash AS "anchorHash"
       FROM audit_chain_heads WHERE environment = $1`,
      [environment],
    );
    const head = rows[0];
    // The migration inserts both rows; a missing one was deleted by hand.
    if (!head) throw new Error(`audit_chain_heads has no row for ${environment}`);
    return head;
  }

  async chain(environment: Environment, afterSequence: string, limit: number): Promise<StoredAuditRecord[]> {
    const { rows } = await query<AuditRow>(
      this.client,
      `SELECT ${COLUMNS} FROM audit_events WHERE environment = $1 AND sequence > $2::bigint ORDER BY audit_events.sequence LIMIT $3`,
      [environment, afterSequence, limit],
    );
    return rows.map(toStored);
  }

  async byTime(
    environment: Environment,
    range: { start: Date; end: Date | undefined },
    after: { time: Date; sequence: string } | undefined,
    limit: number,
  ): Promise<AuditRecord[]> {
    const { rows } = await query<AuditRow>(
      this.client,
      `SELECT ${COLUMNS} FROM audit_events
       WHERE environment = $1 AND time >= $2 AND ($3::timestamptz IS NULL OR time < $3)
         AND ($4::timestamptz IS NULL OR (time, sequence) > ($4::timestamptz, $5::bigint))
       ORDER BY audit_events.time, audit_events.sequence LIMIT $6`,
      [environment, range.start, range.end ?? null, after?.time ?? null, after?.sequence ?? null, limit],
    );
    return rows.map(toRecord);
  }
}

/** {@link AuditStore}, {@link AuditSnapshots} and {@link AuditRetentionStore} on Postgres. */
export class PgAuditStore implements AuditStore, AuditSnapshots, AuditRetentionStore {
  constructor(private readonly pool: pg.Pool) {}

  async list(environment: Environment, filter: AuditFilter, beforeSequence: string | undefined, limit: number): Promise<ListedAuditRecord[]> {
    // Newest first is a walk back along the chain from its head, which finds
    // a page at once when the matches are among the newest records. It is
    // the wrong plan when they are not: a target's few records (the GIN
    // index finds them), or a window that ends before the newest records
    // (the time index does). `+ 0` keeps the planner from walking the chain
    // then; what those indexes find is sorted instead.
    const walk = filter.targetId === undefined && !(filter.end && (await this.hasRecordsFrom(environment, filter.end)));
    const order = walk ? 'audit_events.sequence' : 'audit_events.sequence + 0';
    const { rows } = await query<AuditRow>(
      this.pool,
      `SELECT ${COLUMNS} FROM audit_events
       WHERE environment = $1 AND ($2::bigint IS NULL OR sequence < $2::bigint)
         AND ($3::text IS NULL OR actor_id = $3::text)
         AND ($4::text IS NULL OR target_ids @> ARRAY[$4::text])
         AND ($5::text IS NULL OR method = $5::text)
         AND ($6::timestamptz IS NULL OR time >= $6::timestamptz)
         AND ($7::timestamptz IS NULL OR time < $7::timestamptz)
       ORDER BY ${order} DESC LIMIT $8`,
      [
        environment,
        beforeSequence ?? null,
        filter.actorId ?? null,
        filter.targetId ?? null,
        filter.method ?? null,
        filter.start ?? null,
        filter.end ?? null,
        limit,
      ],
    );
    return rows.map((r) => ({ ...toRecord(r), seq: r.sequence }));
  }

  /** Whether `environment` has a record at or after `time` (one probe of the time index). */
  private async hasRecordsFrom(environment: Environment, time: Date): Promise<boolean> {
    const { rowCount } = await query(this.pool, 'SELECT 1 FROM audit_events WHERE environment = $1 AND time >= $2 LIMIT 1', [environment, time]);
    return (rowCount ?? 0) > 0;
  }

  inSnapshot<T>(fn: (snapshot: AuditSnapshot) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, async (client) => {
      // One snapshot for every read: the head and the records agree, and
      // appends or pruning meanwhile are not seen half-done.
      await query(client, 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      return fn(new PgAuditSnapshot(client));
    });
  }

  pruneAuditEvents(environment: Environment, retentionSeconds: number, limit: number): Promise<number> {
    return withTransaction(this.pool, async (client) => {
      // The head row is locked first, as every append locks it before taking
      // the next sequence, so appends and prunes of an environment run one
      // at a time: an append never sees a half-moved anchor, and two
      // instances pruning at once take turns rather than deleting the same
      // rows in different orders (a deadlock) or moving the anchor back.
      // Under READ COMMITTED, the statements after the lock see whatever a
      // prune we waited for deleted. Appends only insert after the head, so
      // the records deleted here are never ones an append is writing.
      await query(client, 'SELECT 1 FROM audit_chain_heads WHERE environment = $1 FOR UPDATE', [environment]);
      // Only a prefix of the chain goes (oldest in sequence, up to the first
      // record still within retention), so the anchor stands for every
      // record before the first one left.
      const { rows } = await query<{ deleted: number; sequence: string | null; hash: string | null }>(
        client,
        `WITH candidates AS (
           SELECT sequence, time FROM audit_events WHERE environment = $1 ORDER BY sequence LIMIT $3
         ), stop AS (
           SELECT coalesce(min(sequence), 9223372036854775807) AS sequence FROM candidates
           WHERE time >= now() - make_interval(secs => $2)
         ), deleted AS (
           DELETE FROM audit_events a USING candidates c
           WHERE a.environment = $1 AND a.sequence = c.sequence AND c.sequence < (SELECT sequence FROM stop)
           RETURNING a.sequence, a.hash
         )
         SELECT (SELECT count(*)::int FROM deleted) AS deleted, last.sequence::text AS sequence, last.hash
         FROM (SELECT 1) one LEFT JOIN (SELECT sequence, hash FROM deleted ORDER BY sequence DESC LIMIT 1) last ON true`,
        [environment, retentionSeconds, limit],
      );
      const result = rows[0]!;
      if (result.deleted > 0) {
        await query(client, 'UPDATE audit_chain_heads SET anchor_sequence = $2::bigint, anchor_hash = $3 WHERE environment = $1', [
          environment,
          result.sequence,
          result.hash,
        ]);
      }
      return result.deleted;
    });
  }
}
