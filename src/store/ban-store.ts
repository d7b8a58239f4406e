import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import type { BanRecord } from '../domain/bans.js';
import type { Environment } from '../domain/principal.js';
import type { BanFilter, BanOutcome, BanStore, NewBan } from '../domain/ports/index.js';
import { BAN_ACTIVE, BAN_COLUMNS, toBan, type BanRow } from './ban-rows.js';
import { appendBanEvent, banTargets, makeBan } from './ban-writes.js';
import { query, withTransaction } from './pool.js';
import { lockRoom } from './room-lock.js';

/** {@link BanStore} on Postgres. Every change writes its event in the same transaction. */
export class PgBanStore implements BanStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(ban: NewBan, maxActiveBans: number): Promise<BanOutcome> {
    // Without a target, makeBan answers or throws.
    return (await makeBan(this.pool, ban, { maxActiveBans })) as BanOutcome;
  }

  async get(environment: Environment, banId: string): Promise<BanRecord | undefined> {
    const { rows } = await query<BanRow>(
      this.pool,
      `SELECT ${BAN_COLUMNS} FROM bans WHERE id = $1 AND environment = $2 AND ${BAN_ACTIVE}`,
      [banId, environment],
    );
    return rows[0] && toBan(rows[0]);
  }

  async list(environment: Environment, filter: BanFilter, beforeSeq: string | undefined, limit: number): Promise<BanRecord[]> {
    const { rows } = await query<BanRow>(
      this.pool,
      `SELECT ${BAN_COLUMNS} FROM bans
       WHERE environment = $1 AND ${BAN_ACTIVE} AND ($2::bigint IS NULL OR seq < $2::bigint)
         AND ($3::uuid IS NULL OR room_id = $3::uuid) AND ($4::text IS NULL OR identity = $4::text)
       ORDER BY seq DESC LIMIT $5`,
      [environment, beforeSeq ?? null, filter.roomId ?? null, filter.identity ?? null, limit],
    );
    return rows.map(toBan);
  }

  async lift(environment: Environment, banId: string): Promise<BanRecord | undefined> {
    return withTransaction(this.pool, async (client) => {
      // A room ban's ban_lifted takes the room's next sequence, so the room is
      // locked first, before the delete gives the transaction its id (see
      // lockRooms in ban-writes.ts). room_id never changes.
      const found = await query<{ room_id: string | null }>(
        client,
        `SELECT room_id FROM bans WHERE id = $1 AND environment = $2 AND ${BAN_ACTIVE}`,
        [banId, environment],
      );
      const row = found.rows[0];
      if (!row) return undefined;
      if (row.room_id !== null && !(await lockRoom(client, environment, row.room_id))) return undefined;
      const deleted = await query<BanRow>(
        client,
        `DELETE FROM bans WHERE id = $1 AND environment = $2 AND ${BAN_ACTIVE} RETURNING ${BAN_COLUMNS}`,
        [banId, environment],
      );
      if (!deleted.rows[0]) return undefined;
      const lifted = toBan(deleted.rows[0]);
      auditChange(environment, ...banTargets(lifted));
      await appendBanEvent(client, 'ban_lifted', lifted);
      return lifted;
    });
  }
}
