import type pg from 'pg';
import { auditChange, setAuditActor } from '../context/audit-scope.js';
import { DomainError } from '../domain/errors.js';
import { joinCodeInvalid, type JoinCodeRecord, type RedeemableJoinCode } from '../domain/join-codes.js';
import type { Environment } from '../domain/principal.js';
import type { PeerRecord, TokenStamp } from '../domain/records.js';
import type { JoinCodeFilter, JoinCodePurgeStore, JoinCodeStore, NewJoinCode, NewPeer, RedeemableQuota } from '../domain/ports/index.js';
import {
  JOIN_CODE_COLUMNS,
  JOIN_CODE_REDEEMABLE,
  JOIN_ROLE_COLUMNS,
  toJoinCode,
  toJoinRole,
  type JoinCodeRow,
  type JoinRoleRow,
} from './join-code-rows.js';
import { appendEvent, nextRoomSeq } from './outbox.js';
import { insertPeerIn, lockNewPeer, reserveSeat } from './peer-store.js';
import { query, withTransaction } from './pool.js';
import { roomExists } from './room-lock.js';

// classid of the advisory lock that serializes the quota check of one
// environment's new join codes ("jcqt"), as bans do theirs.
const QUOTA_LOCK_CLASS = 0x6a637174;

/**
 * The use, counted in the statement that checks it, under the row's lock:
 * across instances, use_count never passes max_uses and a revoked or expired
 * code is never used.
 */
const COUNT_USE = `UPDATE join_codes c SET use_count = c.use_count + 1,
    used_up_at = CASE WHEN c.use_count + 1 = c.max_uses THEN now() END
  WHERE c.id = $1 AND ${JOIN_CODE_REDEEMABLE} RETURNING ${JOIN_CODE_COLUMNS}`;

/** When a code stopped working; the expression of join_codes_dead_at_idx (migration 0011). */
const DEAD_AT = "LEAST(expires_at, COALESCE(revoked_at, 'infinity'), COALESCE(used_up_at, 'infinity'))";

const joinCodeTarget = (id: string) => ({ type: 'join_code', id }) as const;

/** {@link JoinCodeStore} and {@link JoinCodePurgeStore} on Postgres. */
export class PgJoinCodeStore implements JoinCodeStore, JoinCodePurgeStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(code: NewJoinCode, maxRedeemable: RedeemableQuota): Promise<JoinCodeRecord> {
    return withTransaction(this.pool, async (client) => {
      await query(client, 'SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))', [QUOTA_LOCK_CLASS, code.environment]);
      if (!(await roomExists(client, code.environment, code.roomId))) throw new DomainError('ERR_ROOM_NOT_FOUND', 'room not found');
      // FOR KEY SHARE: a DeleteRole that has not committed yet is waited for.
      const role = await query<{ id: string }>(client, 'SELECT id FROM roles WHERE environment = $1 AND name = $2 FOR KEY SHARE', [
        code.environment,
        code.role,
      ]);
      const roleId = role.rows[0]?.id;
      if (!roleId) throw new DomainError('ERR_ROLE_NOT_FOUND', `role not found: no role named ${JSON.stringify(code.role)} in this environment`);
      if (code.appUrl !== '') {
        const allowed = await query(client, 'SELECT 1 FROM join_app_urls WHERE environment = $1 AND url = $2', [code.environment, code.appUrl]);
        if (allowed.rowCount !== 1) {
          throw new DomainError('ERR_APP_URL_NOT_ALLOWED', "app_url: is not one of the environment's allowed app URLs (JoinSettings.app_urls)", {
            field: 'app_url',
          });
        }
      }
      const count = await query<{ n: number; short: number }>(
        client,
        `SELECT count(*)::int AS n, (count(*) FILTER (WHERE c.kind = 'short'))::int AS short
         FROM join_codes c WHERE c.environment = $1 AND ${JOIN_CODE_REDEEMABLE}`,
        [code.environment],
      );
      const live = count.rows[0] ?? { n: 0, short: 0 };
      if (live.n >= maxRedeemable.all) {
        throw new DomainError(
          'ERR_JOIN_CODE_QUOTA_EXCEEDED',
          `the environment has ${maxRedeemable.all} join codes that can still be redeemed (ROOMGATE_MAX_JOIN_CODES_PER_ENVIRONMENT); revoke some first`,
          { metadata: { limit: String(maxRedeemable.all), kind: 'all' } },
        );
      }
      if (code.kind === 'short' && live.short >= maxRedeemable.short) {
        throw new DomainError(
          'ERR_JOIN_CODE_QUOTA_EXCEEDED',
          `the environment has ${maxRedeemable.short} short codes that can still be redeemed (ROOMGATE_MAX_SHORT_JOIN_CODES_PER_ENVIRONMENT); revoke some, or use link codes, which have no such limit beyond the environment's`,
          { metadata: { limit: String(maxRedeemable.short), kind: 'short' } },
        );
      }
      const { rows } = await query<JoinCodeRow>(
        client,
        `INSERT INTO join_codes AS c (id, environment, room_id, role_id, role_name, kind, code_hash, code_hint, identity,
           max_uses, app_url, description, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         RETURNING ${JOIN_CODE_COLUMNS}`,
        [
          code.id, code.environment, code.roomId, roleId, code.role, code.kind, code.hash, code.hint, code.identity,
          code.maxUses, code.appUrl, code.description, code.expiresAt,
        ],
      );
      auditChange(code.environment, { type: 'room', id: code.roomId }, joinCodeTarget(code.id));
      return toJoinCode(rows[0] as JoinCodeRow);
    });
  }

  async get(environment: Environment, id: string): Promise<JoinCodeRecord | undefined> {
    const { rows } = await query<JoinCodeRow>(
      this.pool,
      `SELECT ${JOIN_CODE_COLUMNS} FROM join_codes c WHERE c.id = $1 AND c.environment = $2`,
      [id, environment],
    );
    return rows[0] && toJoinCode(rows[0]);
  }

  async list(environment: Environment, filter: JoinCodeFilter, beforeSeq: string | undefined, limit: number): Promise<JoinCodeRecord[]> {
    const { rows } = await query<JoinCodeRow>(
      this.pool,
      `SELECT ${JOIN_CODE_COLUMNS} FROM join_codes c
       WHERE c.environment = $1 AND ($2::bigint IS NULL OR c.seq < $2::bigint) AND ($3::uuid IS NULL OR c.room_id = $3::uuid)
       ORDER BY c.seq DESC LIMIT $4`,
      [environment, beforeSeq ?? null, filter.roomId ?? null, limit],
    );
    return rows.map(toJoinCode);
  }

  async revoke(environment: Environment, id: string): Promise<JoinCodeRecord | undefined> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await query<JoinCodeRow>(
        client,
        `UPDATE join_codes c SET revoked_at = now() WHERE c.id = $1 AND c.environment = $2 AND c.revoked_at IS NULL
         RETURNING ${JOIN_CODE_COLUMNS}`,
        [id, environment],
      );
      if (!rows[0]) return this.get(environment, id);
      auditChange(environment, { type: 'room', id: rows[0].room_id }, joinCodeTarget(id));
      return toJoinCode(rows[0]);
    });
  }

  async findRedeemable(hash: Buffer): Promise<RedeemableJoinCode | undefined> {
    // One statement and one plan for every code, known or not, live or dead:
    // an unknown code and a dead one take the same path and return no row.
    const { rows } = await query<JoinCodeRow & JoinRoleRow & { app_urls: string[] }>(
      this.pool,
      `SELECT ${JOIN_CODE_COLUMNS}, ${JOIN_ROLE_COLUMNS},
         ARRAY(SELECT u.url FROM join_app_urls u WHERE u.environment = c.environment ORDER BY u.position) AS app_urls
       FROM join_codes c JOIN roles r ON r.id = c.role_id
       WHERE c.code_hash = $1 AND ${JOIN_CODE_REDEEMABLE}`,
      [hash],
    );
    const row = rows[0];
    return row && { code: toJoinCode(row), role: toJoinRole(row), appUrls: row.app_urls };
  }

  async redeem(code: JoinCodeRecord, peer: NewPeer): Promise<{ peer: PeerRecord; stamp: TokenStamp; replayed: boolean }> {
    // The caller had no credential but the code: the code is who the audit
    // record names, known only now that the code is found.
    setAuditActor(code.environment, { kind: 'join_code', joinCodeId: code.id });
    const made = await withTransaction(this.pool, async (client) => {
      // CreatePeer's locks, in CreatePeer's order (identity, role, room),
      // and last the code's row.
      await lockNewPeer(client, peer);
      const roomSeq = await reserveSeat(client, peer);
      if (roomSeq === undefined) {
        // A deleted room took its codes with it.
        if (!(await roomExists(client, peer.environment, peer.roomId))) throw joinCodeInvalid();
        throw new DomainError('ERR_ROOM_FULL', 'the room is full: it already has max_peers peers');
      }
      // A role deleted since the look-up took the code's role with it (a
      // role that live codes use cannot be deleted, so the code had died).
      const record = await insertPeerIn(client, peer, roomSeq).catch((err: unknown) => {
        throw err instanceof DomainError && err.code === 'ERR_ROLE_NOT_FOUND' ? joinCodeInvalid() : err;
      });
      const used = await query<JoinCodeRow>(client, COUNT_USE, [code.id]);
      if (!used.rows[0]) throw joinCodeInvalid();
      const after = toJoinCode(used.rows[0]);
      auditChange(code.environment, joinCodeTarget(code.id));
      await appendEvent(client, {
        environment: code.environment,
        roomId: code.roomId,
        roomSeq: await nextRoomSeq(client, code.roomId),
        payload: { type: 'join_code_redeemed', joinCode: after, peer: record },
      });
      return record;
    });
    return { peer: made, stamp: peer.stamp, replayed: false };
  }

  async purgeDeadJoinCodes(retentionSeconds: number, limit: number): Promise<number> {
    const { rowCount } = await query(
      this.pool,
      `DELETE FROM join_codes WHERE id = ANY (ARRAY(
         SELECT id FROM join_codes WHERE ${DEAD_AT} < now() - make_interval(secs => $1::int)
         ORDER BY ${DEAD_AT} LIMIT $2))`,
      [retentionSeconds, limit],
    );
    return rowCount ?? 0;
  }
}
