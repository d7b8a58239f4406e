// The order of a bench run. Scenarios are interleaved by concurrency (echo,
// SQL, then each roomgate scenario at c=1, then all at c=8, ...) so that each
// ratio compares phases measured seconds apart, on a machine whose other load
// changes by the minute.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GRPC_SCENARIOS } from './grpc-scenarios.js';
import { describeMachine } from './machine.js';
import type { BenchOptions } from './options.js';
import { startPostgres, type PostgresCluster } from './postgres-cluster.js';
import { judgeTargets } from './report.js';
import type { BenchResults, PhaseResult } from './results.js';
import { createManagementToken, startRoomgate, type RoomgateServer, type ServerSettings } from './roomgate-process.js';
import { countPeers, seedPeers } from './seed.js';
import { Session, type PhaseSpec } from './session.js';
import { TOKEN_PAIRS, VERIFIER_SCENARIOS } from './token-scenarios.js';
import { Worker } from './worker-ipc.js';

const worker = (file: string) => fileURLToPath(new URL(`../${file}`, import.meta.url));

/** Page size of ListPeers: the largest a call may ask for. */
const LIST_PAGE_SIZE = 100;
/** The server's pool when --server-env does not set ROOMGATE_DB_POOL_SIZE (src/config.ts's default). */
const DEFAULT_POOL_SIZE = 10;

/** A roomgate server on its own new database, with a management token, connected to the load generator as `name`. */
async function serveDatabase(session: Session, cluster: PostgresCluster, workDir: string, name: string) {
  const settings: ServerSettings = {
    databaseUrl: await cluster.createDatabase(`roomgate_bench_${name}`),
    keyEncryptionKey: randomBytes(32).toString('base64'),
    logFile: path.join(workDir, `roomgate-${name}.log`),
    extraEnv: session.options.serverEnv,
    profileDir: session.options.profileDir,
  };
  const server: RoomgateServer = await session.step(`roomgate serve (${name})`, () => startRoomgate(settings));
  session.defer(() => server.stop());
  const token = await session.step('roomgate token create', () => createManagementToken(settings));
  await session.loadgen.request({ type: 'connectRoomgate', target: name, address: server.address, token });
  return { settings, server };
}

/**
 * Tops up the supply of never-verified tokens to `needed`: peers written with
 * COPY, then one IssuePeerToken each, so every token is also a distinct peer.
 */
async function ensureTokens(session: Session, databaseUrl: string, needed: number): Promise<void> {
  const available = await session.loadgen.request<number>({ type: 'tokensAvailable', target: 'main' });
  if (available >= needed) return;
  const missing = needed - available;
  await session.step(`${missing} distinct peers and tokens for VerifyPeerToken (not measured)`, async () => {
    const { refs } = await seedPeers(databaseUrl, { peers: missing, peersPerRoom: 1000, keepRefs: true, vacuum: false });
    await session.loadgen.request({ type: 'issueTokens', target: 'main', peers: refs, concurrency: 32 });
  });
}

async function grpcPhases(session: Session, databaseUrl: string, server: RoomgateServer): Promise<void> {
  const o = session.options;
  const wanted = (g: string) => o.scenarios.has(g as never);
  const loadgen = session.loadgen;
  const rooms = Math.max(...o.concurrency);
  await session.step(`${rooms} rooms`, () => loadgen.request({ type: 'createRooms', target: 'main', prefix: 'bench', count: rooms }));
  if (wanted('ListPeers')) {
    await session.step(`ListPeers room with ${o.listPeers} peers (CreatePeer)`, () =>
      loadgen.request({ type: 'createListRoom', target: 'main', peers: o.listPeers, pageSize: LIST_PAGE_SIZE }),
    );
  }
  if (wanted('sql')) {
    const poolSize = Number(o.serverEnv.ROOMGATE_DB_POOL_SIZE ?? DEFAULT_POOL_SIZE);
    await loadgen.request({ type: 'openSql', connectionString: databaseUrl, poolSize });
  }
  const seconds = (o.warmupMs + o.durationMs) / 1000;
  let previous: { echo: PhaseResult | undefined; verify: PhaseResult | undefined } = { echo: undefined, verify: undefined };
  for (const c of o.concurrency) {
    const echo = wanted('echo') ? await session.measure({ scenario: 'echo', kind: 'echo', concurrency: c, servedBy: session.echoPid }) : undefined;
    if (wanted('sql')) await session.measure({ scenario: 'sql:CreatePeer', kind: 'sql', concurrency: c, target: 'main' });
    for (const scenario of GRPC_SCENARIOS) {
      if (!wanted(scenario)) continue;
      const spec = { scenario, kind: 'grpc', concurrency: c, target: 'main', servedBy: server.pid } as const;
      if (scenario === 'RefreshPeerToken') await ensureTokens(session, databaseUrl, c);
      if (scenario !== 'VerifyPeerToken') {
        await session.measure(spec);
        continue;
      }
      // Tokens for the rate VerifyPeerToken may reach: 1.4 × its rate at the
      // last concurrency, scaled as the echo's scaled; at first, 70 % of the
      // echo's. It cannot beat the echo at the same concurrency.
      const echoRps = echo?.rps || 3000;
      const expected = Math.min(
        echoRps,
        previous.verify?.rps && previous.echo?.rps ? (1.4 * previous.verify.rps * echoRps) / previous.echo.rps : 0.7 * echoRps,
      );
      const tokensFor = (rps: number) => ensureTokens(session, databaseUrl, Math.ceil(rps * seconds * 1.2) + c);
      await tokensFor(expected);
      const verify = await measureConsuming(session, spec, (rps) => tokensFor(2 * Math.max(rps, expected)));
      previous = { echo, verify };
    }
  }
}

/**
 * Measures a phase that uses each of its inputs once. When they ran out
 * before its time was up, `refill(rps)` makes enough for the rate it reached
 * and the phase is measured again; the short attempt is dropped.
 */
async function measureConsuming(
  session: Session,
  spec: PhaseSpec,
  refill: (rps: number) => Promise<unknown>,
): Promise<PhaseResult | undefined> {
  const first = await session.measure(spec);
  if (!first?.endedEarly) return first;
  await refill(first.rps);
  session.discard(first);
  return session.measure(spec);
}

async function tokenPhases(session: Session, settings: ServerSettings): Promise<void> {
  await session.loadgen.request({
    type: 'openTokenBench',
    connectionString: settings.databaseUrl,
    keyEncryptionKey: settings.keyEncryptionKey,
    issuer: session.options.serverEnv.ROOMGATE_ISSUER ?? 'roomgate',
  });
  const o = session.options;
  for (const c of o.tokenConcurrency) {
    let bareRps: number | undefined;
    for (const { family, mint, verify } of TOKEN_PAIRS) {
      const minted = await session.measure({ scenario: mint, kind: 'tokens', concurrency: c });
      // Checking can be faster than minting (HMAC): then the mint phase left too few outputs.
      const checked = await measureConsuming(session, { scenario: verify, kind: 'tokens', concurrency: c }, (rps) => {
        // Twice the faster of the two rates: the short attempt's rate is a rough one.
        const count = Math.ceil(2 * Math.max(rps, minted?.rps ?? 10_000) * ((o.warmupMs + o.durationMs) / 1000));
        return session.step(`${count} ${family} tokens for ${verify} again (not measured)`, () =>
          session.loadgen.request({ type: 'fillTokens', family, count, concurrency: c }),
        );
      });
      if (family === 'node') bareRps = checked?.rps;
    }
    // The offline verifier and bare Ed25519 verify, each over its copy of one list of distinct tokens.
    const fill = (rps: number) => {
      const count = Math.ceil(1.3 * rps * ((o.warmupMs + o.durationMs) / 1000));
      return session.step(`${count} roomgate tokens for the offline verifier and bare verify (not measured)`, () =>
        session.loadgen.request({ type: 'fillVerifierTokens', count, concurrency: c }),
      );
    };
    // As many as bare verify (the faster of the two) checked of node's own tokens just before.
    await fill(bareRps ?? 10_000);
    for (const scenario of VERIFIER_SCENARIOS) await measureConsuming(session, { scenario, kind: 'tokens', concurrency: c }, (rps) => fill(2 * rps));
  }
}

const count = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

/** CreatePeer with 1,000 stored peers, then with --scale-peers, on a server and database of its own. */
async function scalePhases(session: Session, cluster: PostgresCluster, workDir: string): Promise<void> {
  const o = session.options;
  const { settings, server } = await serveDatabase(session, cluster, workDir, 'scale');
  const url = settings.databaseUrl;
  await session.loadgen.request({ type: 'createRooms', target: 'scale', prefix: 'scale', count: o.scaleConcurrency });
  // A server just started is slower (JIT, new connections) than one that has
  // served for minutes: that would flatter the second measurement.
  await session.step('warm-up of the new server (CreatePeer in a room then deleted)', () =>
    session.loadgen.request({ type: 'warmUp', target: 'scale', concurrency: o.scaleConcurrency, durationMs: Math.max(o.warmupMs, Math.min(3000, o.durationMs)) }),
  );
  const measure = async () => {
    const stored = await countPeers(url);
    await session.measure({ scenario: `CreatePeer @ ${count(stored)} peers`, operation: 'CreatePeer', kind: 'scale', concurrency: o.scaleConcurrency, target: 'scale', servedBy: server.pid, storedPeers: stored });
  };
  await session.step('COPY 1,000 peers', () => seedPeers(url, { peers: 1000, peersPerRoom: 1000, keepRefs: false, vacuum: true }));
  await measure();
  const more = o.scalePeers - (await countPeers(url));
  if (more > 0) {
    await session.step(`COPY ${more.toLocaleString('en-US')} more peers, then VACUUM (ANALYZE)`, () =>
      seedPeers(url, {
        peers: more,
        peersPerRoom: 1000,
        keepRefs: false,
        vacuum: true,
        onProgress: (n) => process.stderr.write(`  … ${n.toLocaleString('en-US')} peers written\n`),
      }),
    );
  }
  await measure();
  await server.stop();
}

/** Runs the whole bench and returns its results; everything it started is stopped and removed. */
export async function runBench(options: BenchOptions, commandLine: string): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const session = new Session(options);
  // Under the system temp directory, readable by all: as root, embedded
  // Postgres runs as the postgres user, which must reach its data directory.
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'roomgate-bench-'));
  await chmod(workDir, 0o755);
  session.defer(() => rm(workDir, { recursive: true, force: true }));
  const stopOnSignal = () => {
    process.stderr.write('bench: interrupted; stopping everything it started\n');
    void session.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal).once('SIGTERM', stopOnSignal);
  let postgres = 'not started';
  try {
    const cluster = await session.step('Postgres', () => startPostgres(options.databaseUrl, workDir));
    session.defer(() => cluster.stop());
    postgres = cluster.description;
    session.useLoadGenerator(Worker.start('load generator', worker('load-generator.js')));
    const echoServer = Worker.start('echo server', worker('echo-server.js'));
    session.defer(() => echoServer.stop());
    const echoPort = await echoServer.request<number>({ type: 'port' });
    session.echoPid = echoServer.pid;
    await session.loadgen.request({ type: 'connectEcho', address: `127.0.0.1:${echoPort}` });
    const { settings, server } = await serveDatabase(session, cluster, workDir, 'main');
    await grpcPhases(session, settings.databaseUrl, server);
    if (options.scenarios.has('tokens')) await tokenPhases(session, settings);
    // The main server has done its part; stopping it leaves the scale run the machine.
    await server.stop();
    if (options.scenarios.has('scale')) await scalePhases(session, cluster, workDir);
  } catch (err) {
    if (!session.closing) {
      session.failures.push(`the run stopped: ${err instanceof Error ? err.message : String(err)}`);
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
  } finally {
    await session.close();
    process.off('SIGINT', stopOnSignal).off('SIGTERM', stopOnSignal);
  }
  return {
    smoke: options.smoke,
    startedAt,
    finishedAt: new Date().toISOString(),
    settings: {
      commandLine,
      durationMs: options.durationMs,
      warmupMs: options.warmupMs,
      concurrency: options.concurrency,
      tokenConcurrency: options.tokenConcurrency,
      scaleConcurrency: options.scaleConcurrency,
      scalePeers: options.scalePeers,
      listPeers: options.listPeers,
      listPageSize: LIST_PAGE_SIZE,
      rooms: Math.max(...options.concurrency),
      serverPoolSize: Number(options.serverEnv.ROOMGATE_DB_POOL_SIZE ?? DEFAULT_POOL_SIZE),
      serverEnv: options.serverEnv,
      targetConcurrency: options.targetConcurrency,
      scenarios: [...options.scenarios],
    },
    machine: describeMachine(postgres),
    setup: session.setup,
    phases: session.phases,
    targets: judgeTargets(session.phases, {
      // Judged at --target-concurrency when it was measured, else at the highest concurrency.
      grpcConcurrency: options.concurrency.includes(options.targetConcurrency)
        ? options.targetConcurrency
        : Math.max(...options.concurrency),
      tokenConcurrency: Math.max(...options.tokenConcurrency),
    }),
    failures: session.failures,
  };
}
