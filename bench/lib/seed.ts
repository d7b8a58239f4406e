// Stored peers for the scale run and for VerifyPeerToken's supply, written
// with COPY FROM STDIN in one transaction: a million rows through CreatePeer
// would take the whole time budget. The rows are what CreatePeer stores
// (rooms with the right peer_count, the environment's room count), without
// the events CreatePeer would also have appended.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { PeerRef } from './roomgate-target.js';

/** What {@link seedPeers} should write. */
export interface SeedPlan {
  peers: number;
  peersPerRoom: number;
  /** Return every peer's ids (for IssuePeerToken); off for big seeds. */
  keepRefs: boolean;
  /** VACUUM (ANALYZE) afterwards, as autovacuum would have by the time a table grew this big. */
  vacuum: boolean;
  onProgress?: (peersWritten: number) => void;
}

/** What was written. */
export interface SeedResult {
  rooms: number;
  peers: number;
  seconds: number;
  refs: PeerRef[];
}

const ROWS_PER_CHUNK = 2_000;
const PROGRESS_EVERY = 200_000;

async function copy(client: pg.Client, statement: string, rows: Iterable<string>): Promise<void> {
  await pipeline(Readable.from(rows), client.query(copyFrom(statement)));
}

/** Lines of `count` rows made by `row(i)`, a chunk at a time. */
function* chunks(count: number, row: (i: number) => string): Generator<string> {
  for (let start = 0; start < count; start += ROWS_PER_CHUNK) {
    let chunk = '';
    for (let i = start; i < Math.min(count, start + ROWS_PER_CHUNK); i++) chunk += row(i);
    yield chunk;
  }
}

/** Writes `plan.peers` peers into new rooms of `plan.peersPerRoom` peers each, in the sandbox environment. */
export async function seedPeers(connectionString: string, plan: SeedPlan): Promise<SeedResult> {
  const started = Date.now();
  const roomIds = Array.from({ length: Math.ceil(plan.peers / plan.peersPerRoom) }, () => randomUUID());
  const sizeOf = (room: number) => Math.min(plan.peersPerRoom, plan.peers - room * plan.peersPerRoom);
  const refs: PeerRef[] = [];
  const client = new pg.Client({ connectionString, application_name: 'roomgate-bench-seed' });
  await client.connect();
  try {
    await client.query('BEGIN');
    await copy(
      client,
      'COPY rooms (id, environment, peer_count) FROM STDIN',
      chunks(roomIds.length, (i) => `${roomIds[i]}\tsandbox\t${sizeOf(i)}\n`),
    );
    await client.query(
      `INSERT INTO environment_usage AS u (environment, room_count) VALUES ('sandbox', $1)
       ON CONFLICT (environment) DO UPDATE SET room_count = u.room_count + $1`,
      [roomIds.length],
    );
    const tag = randomUUID().slice(0, 8);
    await copy(
      client,
      'COPY peers (id, room_id, identity, name, metadata, can_publish, can_subscribe) FROM STDIN',
      chunks(plan.peers, (i) => {
        const id = randomUUID();
        const roomId = roomIds[Math.floor(i / plan.peersPerRoom)]!;
        if (plan.keepRefs) refs.push({ roomId, peerId: id });
        if (plan.onProgress && i > 0 && i % PROGRESS_EVERY === 0) plan.onProgress(i);
        return `${id}\t${roomId}\tseed-${tag}-${i}\tSeeded Participant\t{"role":"listener"}\tf\tt\n`;
      }),
    );
    await client.query('COMMIT');
    if (plan.vacuum) await client.query('VACUUM (ANALYZE) rooms, peers');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
  return { rooms: roomIds.length, peers: plan.peers, seconds: (Date.now() - started) / 1000, refs };
}

/** How many peers the database stores. */
export async function countPeers(connectionString: string): Promise<number> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM peers')).rows[0]!.n);
  } finally {
    await client.end();
  }
}
