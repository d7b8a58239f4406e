// How long UpdateRole with apply_to_existing_peers takes for a role with
// many peers (set-based: a fixed number of statements whatever the count),
// against the same permission change made peer by peer with UpdatePeer.
// In-process roomgate on a fresh database of the Postgres at DATABASE_URL
// (a role that may CREATE DATABASE), dropped at the end:
// `npx tsc -p tsconfig.bench.json && DATABASE_URL=postgres://... node dist/bench/role-apply.js [peers] [rooms] [runs]`.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { createRoomgateClient } from '../src/client/index.js';
import { loadConfig } from '../src/config.js';
import { NO_CACHE } from '../src/domain/cache-invalidator.js';
import { systemClock } from '../src/domain/clock.js';
import { DEFAULT_LIMITS } from '../src/domain/limits.js';
import { ManagementTokenManager } from '../src/domain/management-token-manager.js';
import { PageTokens } from '../src/domain/pagination.js';
import { startRoomgate } from '../src/main.js';
import { PgManagementTokenStore } from '../src/store/management-token-store.js';

const peers = Number(process.argv[2] ?? 1000);
const roomCount = Number(process.argv[3] ?? 10);
const runs = Number(process.argv[4] ?? 5);
const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('set DATABASE_URL to a Postgres role that may CREATE DATABASE');

const name = `roomgate_bench_roles_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const config = loadConfig({
  DATABASE_URL: url.toString(),
  ROOMGATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  ROOMGATE_GRPC_ADDRESS: '127.0.0.1:0',
  ROOMGATE_HTTP_ADDRESS: 'off',
  ROOMGATE_RELAY_ENABLED: 'false',
  ROOMGATE_PURGE_INTERVAL_MS: '3600000',
});
const roomgate = await startRoomgate(config, pino({ level: 'silent' }));
const client = createRoomgateClient(`127.0.0.1:${roomgate.port}`, { deadlineMs: 120_000 });
const tokens = new ManagementTokenManager(new PgManagementTokenStore(roomgate.database.pool), systemClock, DEFAULT_LIMITS, NO_CACHE, new PageTokens(randomBytes(32)));
const token = (await tokens.mint('sandbox', { name: 'bench', scopes: ['admin'], expiresAt: null })).token;

const A = { canPublish: true, canSubscribe: true, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false };
const B = { ...A, canUpdateMetadata: true };
await client.roles.createRole({ name: 'bench', permissions: A }, { token });
const rooms: string[] = [];
for (let i = 0; i < roomCount; i++) rooms.push((await client.rooms.createRoom({}, { token })).room!.id);
const made: { roomId: string; peerId: string }[] = [];
for (let i = 0; i < peers; i += 20) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(20, peers - i) }, (_, j) => client.peers.createPeer({ roomId: rooms[(i + j) % roomCount]!, role: 'bench' }, { token })),
  );
  made.push(...batch.map((p) => ({ roomId: p.peer!.roomId, peerId: p.peer!.id })));
}

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const applied: number[] = [];
for (let run = 0; run < runs; run++) {
  const start = process.hrtime.bigint();
  const res = await client.roles.updateRole({ name: 'bench', permissions: run % 2 === 0 ? B : A, applyToExistingPeers: true }, { token });
  applied.push(ms(start));
  if (res.updatedPeerCount !== peers) throw new Error(`updated ${res.updatedPeerCount} peers, expected ${peers}`);
}
// The same change, peer by peer (16 calls in flight), for comparison.
const one = process.hrtime.bigint();
for (let i = 0; i < made.length; i += 16) {
  await Promise.all(made.slice(i, i + 16).map((p) => client.peers.updatePeer({ ...p, permissions: B }, { token })));
}
const perPeer = ms(one);

const sorted = [...applied].sort((x, y) => x - y);
console.log(
  JSON.stringify({
    peers,
    rooms: roomCount,
    updateRoleApplyMs: applied.map((x) => Math.round(x)),
    updateRoleApplyMedianMs: Math.round(sorted[Math.floor(sorted.length / 2)]!),
    updatePeerOneByOneMs: Math.round(perPeer),
  }),
);
client.close();
await roomgate.close();
await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
await admin.end();
