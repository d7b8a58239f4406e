// `npm run bench:watch-flood`: production CreatePeer latency while idle
// sandbox WatchEvents streams are open (issue 12, docs/reliability.md). It
// makes a database of its own on DATABASE_URL's server (a role that may
// CREATE DATABASE), starts one `roomgate serve` from --root (this checkout by
// default; point it at a built checkout of an older commit to measure that),
// opens --streams idle WatchEvents streams with one sandbox `read` token, and
// times --samples sequential production CreatePeer calls before and after
// they are open. The streams are spread over several HTTP/2 connections, as
// many clients would open them. Everything is stopped and dropped at the end.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { servingPortIn } from '../src/cli/serving-line.js';
import { EventServiceClient } from '../src/gen/roomgate/v1/event_service.js';
import { createRoomgateClient } from '../src/client/index.js';

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: fileURLToPath(new URL('../..', import.meta.url)) },
    streams: { type: 'string', default: '3000' },
    samples: { type: 'string', default: '300' },
    connections: { type: 'string', default: '10' },
  },
});
const root = path.resolve(values.root!);
const streamCount = Number(values.streams);
const samples = Number(values.samples);
const connections = Number(values.connections);
const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('set DATABASE_URL to a Postgres server where this role may CREATE DATABASE');
const log = (line: string) => process.stderr.write(`${line}\n`);

const dbName = `watchflood_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const env = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  DATABASE_URL: url.toString(),
  ROOMGATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  ROOMGATE_GRPC_ADDRESS: '127.0.0.1:0',
  ROOMGATE_HTTP_ADDRESS: 'off',
  ROOMGATE_LOG_LEVEL: 'warn',
  // So that every stream is admitted where the caps exist: this measures the
  // cost of open streams, not the caps that now refuse most of them.
  ROOMGATE_WATCH_MAX_STREAMS_PER_TOKEN: String(streamCount),
  ROOMGATE_WATCH_MAX_STREAMS_PER_ENVIRONMENT: String(streamCount),
};
const bin = path.join(root, 'bin', 'roomgate.js');
const logFile = path.join(os.tmpdir(), `${dbName}.log`);
const fd = openSync(logFile, 'a');
const server = spawn(process.execPath, [bin, 'serve'], { env: { ...env, ROOMGATE_LOG_LEVEL: 'info' }, stdio: ['ignore', fd, fd] });
closeSync(fd);
process.once('exit', () => server.kill('SIGKILL'));

const token = (environment: string, scope: string) =>
  new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [bin, 'token', 'create', '--environment', environment, '--name', 'bench', '--scope', scope], { env }, (err, out) =>
      err ? reject(err) : resolve(out.trim()),
    ),
  );

try {
  let port: number | undefined;
  for (let i = 0; i < 600 && port === undefined; i++) {
    await sleep(100);
    port = servingPortIn(readFileSync(logFile, 'utf8'));
  }
  if (port === undefined) throw new Error(`roomgate did not start:\n${readFileSync(logFile, 'utf8')}`);
  const address = `127.0.0.1:${port}`;
  const sandboxRead = await token('sandbox', 'read');
  const production = await token('production', 'admin');
  const bearer = (t: string) => {
    const m = new grpc.Metadata();
    m.set('authorization', `Bearer ${t}`);
    return m;
  };
  const insecure = grpc.credentials.createInsecure();
  const client = createRoomgateClient(address, { token: production, deadlineMs: 30_000 });

  /** p50/p95/p99 in ms of `samples` sequential production CreatePeer calls, a new room every 20 peers (untimed). */
  async function createPeerLatency(): Promise<{ p50: number; p95: number; p99: number; failed: number }> {
    const times: number[] = [];
    let failed = 0;
    let roomId = '';
    for (let i = 0; i < samples; i++) {
      if (i % 20 === 0) roomId = (await client.rooms.createRoom({})).room!.id;
      const start = performance.now();
      try {
        await client.peers.createPeer({ roomId, identity: `p${i}` });
        times.push(performance.now() - start);
      } catch {
        failed++;
      }
    }
    times.sort((a, b) => a - b);
    const q = (p: number) => Number((times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? NaN).toFixed(1));
    return { p50: q(0.5), p95: q(0.95), p99: q(0.99), failed };
  }

  await createPeerLatency(); // warm-up
  const idle = await createPeerLatency();
  log(`0 streams: CreatePeer ${JSON.stringify(idle)}`);

  const channels = Array.from(
    { length: connections },
    (_, i) => new EventServiceClient(address, insecure, { 'grpc.use_local_subchannel_pool': 1, 'bench.channel': i }),
  );
  let subscribed = 0;
  let ended = 0;
  const calls: grpc.ClientReadableStream<unknown>[] = [];
  for (let i = 0; i < streamCount; i++) {
    const call = channels[i % connections]!.watchEvents({ afterCursor: '', roomId: '', types: [], heartbeatIntervalSeconds: 0 }, bearer(sandboxRead));
    call.once('metadata', () => subscribed++);
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) ended++;
    });
    call.on('data', () => undefined);
    calls.push(call);
    if (i % 200 === 199) await sleep(50);
  }
  for (let i = 0; i < 1200 && subscribed + ended < streamCount; i++) await sleep(100);
  log(`${subscribed} streams subscribed, ${ended} ended`);
  // Let the streams settle into their steady state before timing.
  await sleep(3_000);
  const flooded = await createPeerLatency();
  log(`${subscribed} streams: CreatePeer ${JSON.stringify(flooded)}`);
  const { rows } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [dbName]);
  process.stdout.write(
    `${JSON.stringify({ root, streams: streamCount, subscribed, ended, samples, idle, flooded, connectionsToDatabase: Number(rows[0]!.n) })}\n`,
  );
  for (const c of calls) c.cancel();
  for (const c of channels) c.close();
  client.close();
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
