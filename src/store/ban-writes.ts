import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import type { AuditTarget } from '../domain/audit-record.js';
import { banExists, banQuotaExceeded, type BanRecord } from '../domain/bans.js';
import { DomainError } from '../domain/errors.js';
import type { Environment } from '../domain/principal.js';
import type { BanOutcome, NewBan } from '../domain/ports/index.js';
import { BAN_ACTIVE, BAN_COLUMNS, lockIdentity, toBan, type BanRow } from './ban-rows.js';
import { appendEvent, nextRoomSeq } from './outbox.js';
import { deletePeerIn } from './peer-deletes.js';
import { query, withTransaction } from './pool.js';
import { lockRoom } from './room-lock.js';

/** What else a ban is made with. */
export interface BanOptions {
  maxActiveBans: number;
  /** DeletePeer's ban: the peer that must still exist (else nothing happens), deleted with the ban. */
  target?: { roomId: string; peerId: string };
  /** Keep an active ban of the same identity and scope and return it, rather than fail with ERR_BAN_EXISTS. */
  keepExisting?: boolean;
}

// classid of the advisory lock that serializes the quota check of one
// environment's new bans ("banq"); see IDENTITY_LOCK_CLASS in ban-rows.ts.
const QUOTA_LOCK_CLASS = 0x62616e71;

/** Thrown inside the transaction when a room moved on while this one waited for it (see lockRooms). */
const ROOMS_MOVED = new Error('a room took events while the ban waited for its lock');
const MAX_ATTEMPTS = 5;

/**
 * Makes a ban, in one transaction: see BanStore.create. Undefined when
 * `options.target` no longer exists.
 */
export async function makeBan(pool: pg.Pool, ban: NewBan, options: BanOptions): Promise<BanOutcome | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(pool, (client) => banIn(client, ban, options));
    } catch (err) {
      if (err !== ROOMS_MOVED) throw err;
      if (attempt === MAX_ATTEMPTS) {
        throw new DomainError('ERR_DB_CONFLICT', "the identity's rooms kept changing while the ban waited for them; retry it", {
          cause: err,
        });
      }
    }
  }
}

async function banIn(client: pg.PoolClient, ban: NewBan, options: BanOptions): Promise<BanOutcome | undefined> {
  const { environment, identity } = ban;
  await lockIdentity(client, environment, identity);
  const rooms = await lockRooms(client, ban);
  if (rooms === undefined) {
    if (options.target) return undefined;
    throw new DomainError('ERR_ROOM_NOT_FOUND', 'room not found');
  }
  const target = options.target;
  if (target) {
    const still = await query(client, 'SELECT 1 FROM peers WHERE id = $1 AND room_id = $2 AND identity = $3', [
      target.peerId, target.roomId, identity,
    ]);
    if (still.rowCount !== 1) return undefined;
    // DeletePeer's record names the peer first, then the ban.
    auditChange(environment, { type: 'room', id: target.roomId }, { type: 'peer', id: target.peerId });
  }
  await expireSameScope(client, ban);
  const existing = await query<BanRow>(
    client,
    `SELECT ${BAN_COLUMNS} FROM bans WHERE environment = $1 AND identity = $2 AND room_id IS NOT DISTINCT FROM $3::uuid`,
    [environment, identity, ban.roomId],
  );
  if (existing.rows[0]) {
    const kept = toBan(existing.rows[0]);
    if (!options.keepExisting || !target) throw banExists(kept);
    await deletePeerIn(client, environment, target.roomId, target.peerId, 'banned');
    auditChange(environment, { type: 'ban', id: kept.id });
    return { ban: kept, created: false, deletedPeerIds: [target.peerId] };
  }
  await ensureQuota(client, environment, options.maxActiveBans);
  const inserted = await query<BanRow>(
    client,
    `INSERT INTO bans (id, environment, identity, room_id, reason, expires_at)
     VALUES ($1, $2, $3, $4, $5, CASE WHEN $6::int = 0 THEN NULL ELSE now() + make_interval(secs => $6::int) END)
     RETURNING ${BAN_COLUMNS}`,
    [ban.id, environment, identity, ban.roomId, ban.reason, ban.durationSeconds],
  );
  const made = toBan(inserted.rows[0] as BanRow);
  auditChange(environment, ...banTargets(made));
  await appendBanEvent(client, 'ban_created', made);
  // Every peer of the identity in the ban's scope: the rooms are locked, and
  // CreatePeer of the identity waits for the identity lock, so none is missed.
  const peers = await query<{ id: string; room_id: string }>(
    client,
    'SELECT id, room_id FROM peers WHERE identity = $1 AND room_id = ANY ($2::uuid[]) ORDER BY room_id, seq',
    [identity, rooms],
  );
  const deletedPeerIds: string[] = [];
  for (const p of peers.rows) {
    if (await deletePeerIn(client, environment, p.room_id, p.id, 'banned')) deletedPeerIds.push(p.id);
  }
  return { ban: made, created: true, deletedPeerIds };
}

/**
 * Locks the rooms the ban writes events in: its room, or every room where
 * the identity has a peer; undefined when a room ban's room does not exist.
 *
 * The event stream is ordered by transaction id, and within a room that must
 * be sequence order, so a transaction that writes a room's events must hold
 * the room's lock before it has an id (see RESERVE_SEAT in peer-store.ts).
 * The first row lock assigns the id, so while an environment-wide ban waits
 * for its second room, a writer that got its id later can commit events
 * there, and the ban's would follow them with an earlier id. The rooms'
 * event_seq are read before the locks and compared after: if one moved, the
 * transaction is retried with a fresh id. One room needs no check.
 */
async function lockRooms(client: pg.PoolClient, ban: NewBan): Promise<string[] | undefined> {
  if (ban.roomId !== null) return (await lockRoom(client, ban.environment, ban.roomId)) ? [ban.roomId] : undefined;
  const seen = await query<{ id: string; event_seq: string }>(
    client,
    `SELECT id, event_seq FROM rooms
     WHERE environment = $1 AND id IN (SELECT room_id FROM peers WHERE identity = $2) ORDER BY id`,
    [ban.environment, ban.identity],
  );
  if (seen.rows.length === 0) return [];
  const locked = await query<{ id: string; event_seq: string }>(
    client,
    'SELECT id, event_seq FROM rooms WHERE id = ANY ($1::uuid[]) ORDER BY id FOR UPDATE',
    [seen.rows.map((r) => r.id)],
  );
  if (seen.rows.length > 1) {
    const before = new Map(seen.rows.map((r) => [r.id, r.event_seq]));
    if (locked.rows.some((r) => before.get(r.id) !== r.event_seq)) throw ROOMS_MOVED;
  }
  return locked.rows.map((r) => r.id);
}

/** Deletes a ban of the same scope past its expiry, with its ban_expired event, so the new one can take its place. */
async function expireSameScope(client: pg.PoolClient, ban: NewBan): Promise<void> {
  const { rows } = await query<BanRow>(
    client,
    `DELETE FROM bans WHERE environment = $1 AND identity = $2 AND room_id IS NOT DISTINCT FROM $3::uuid AND NOT ${BAN_ACTIVE}
     RETURNING ${BAN_COLUMNS}`,
    [ban.environment, ban.identity, ban.roomId],
  );
  for (const row of rows) await appendBanEvent(client, 'ban_expired', toBan(row));
}

/**
 * ERR_BAN_QUOTA_EXCEEDED when the environment has `max` active bans. Bans of
 * other identities are made concurrently, so the count is taken under a lock
 * of its own, after every room lock (nothing waits for a room while holding
 * it), and counts at most `max` rows.
 */
async function ensureQuota(client: pg.PoolClient, environment: Environment, max: number): Promise<void> {
  await query(client, 'SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))', [QUOTA_LOCK_CLASS, environment]);
  const { rows } = await query<{ n: number }>(
    client,
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM bans WHERE environment = $1 AND ${BAN_ACTIVE} LIMIT $2) s`,
    [environment, max],
  );
  if ((rows[0]?.n ?? 0) >= max) throw banQuotaExceeded(max);
}

/** A ban's audit targets: the ban, and its room when it has one. */
export function banTargets(ban: BanRecord): AuditTarget[] {
  return [{ type: 'ban', id: ban.id }, ...(ban.roomId === null ? [] : [{ type: 'room' as const, id: ban.roomId }])];
}

/**
 * Writes a ban event: in the ban's room with the room's next sequence (the
 * caller holds the room's lock), or with no room for an environment-wide ban.
 */
export async function appendBanEvent(
  client: pg.PoolClient,
  type: 'ban_created' | 'ban_lifted' | 'ban_expired',
  ban: BanRecord,
): Promise<void> {
  const payload = { type, ban };
  if (ban.roomId === null) {
    await appendEvent(client, { environment: ban.environment, roomId: null, roomSeq: null, payload });
    return;
  }
  const roomSeq = await nextRoomSeq(client, ban.roomId);
  await appendEvent(client, { environment: ban.environment, roomId: ban.roomId, roomSeq, payload });
}

/**
 * Deletes up to `limit` bans past their expiry, each with its ban_expired
 * event; returns how many. Environment-wide bans go in one statement (they
 * write no room event); room bans go one room at a time, claimed by the
 * room's lock with SKIP LOCKED, the first lock of their transaction, so
 * instances purging at once take different rooms and the room's events keep
 * their order. A claim made stale by another instance ends the batch early;
 * the next run goes on.
 */
export async function expireBans(pool: pg.Pool, limit: number): Promise<number> {
  let total = await withTransaction(pool, async (client) => {
    const { rows } = await query<BanRow>(
      client,
      `DELETE FROM bans WHERE id IN (
         SELECT id FROM bans WHERE room_id IS NULL AND expires_at <= now()
         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING ${BAN_COLUMNS}`,
      [limit],
    );
    for (const row of rows) await appendBanEvent(client, 'ban_expired', toBan(row));
    return rows.length;
  });
  while (total < limit) {
    const expired = await withTransaction(pool, async (client) => {
      const claimed = await query<{ id: string }>(
        client,
        `SELECT r.id FROM bans b JOIN rooms r ON r.id = b.room_id
         WHERE b.expires_at <= now()
         ORDER BY b.expires_at LIMIT 1
         FOR UPDATE OF r SKIP LOCKED`,
      );
      const roomId = claimed.rows[0]?.id;
      if (roomId === undefined) return 0;
      const { rows } = await query<BanRow>(
        client,
        `DELETE FROM bans WHERE id IN (
           SELECT id FROM bans WHERE room_id = $1 AND expires_at <= now() ORDER BY expires_at LIMIT $2)
         RETURNING ${BAN_COLUMNS}`,
        [roomId, limit - total],
      );
      for (const row of rows) await appendBanEvent(client, 'ban_expired', toBan(row));
      return rows.length;
    });
    if (expired === 0) break;
    total += expired;
  }
  return total;
}
