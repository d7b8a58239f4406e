// A bench worker: the load generator. It holds the gRPC clients, the rooms
// and peer tokens made for the bench, the direct-SQL baseline's pool and the
// in-process token code, and runs one measured phase at a time on request.
// It runs on the same machine as the server, so it takes CPU from it; the
// orchestrator says so in the output.
import { randomBytes } from 'node:crypto';
import { runClosedLoop, type LoopOptions, type LoopResult, type Operation } from './lib/closed-loop.js';
import { EchoClient } from './lib/echo-service.js';
import { bearer, insecure, unary, type UnaryMethod } from './lib/grpc-call.js';
import { createPeer, grpcOperation, type GrpcScenario } from './lib/grpc-scenarios.js';
import { RoomgateTarget, type PeerRef } from './lib/roomgate-target.js';
import { SqlBaseline } from './lib/sql-baseline.js';
import { TokenBench, type TokenScenario } from './lib/token-scenarios.js';
import { serveRequests } from './lib/worker-ipc.js';

/** Bytes the echo baseline sends and gets back: about a VerifyPeerToken request. */
const ECHO_PAYLOAD_BYTES = 640;

const targets = new Map<string, RoomgateTarget>();
let echo: { client: InstanceType<typeof EchoClient>; payload: Buffer } | undefined;
let sql: SqlBaseline | undefined;
let tokenBench: TokenBench | undefined;
let prepared: Operation | undefined;

function target(name: unknown): RoomgateTarget {
  const t = targets.get(String(name));
  if (!t) throw new Error(`no roomgate target ${String(name)}`);
  return t;
}

function echoOperation(): Operation {
  if (!echo) throw new Error('not connected to the echo server');
  const { client, payload } = echo;
  const call = unary(client, client.echo as UnaryMethod<Buffer, Buffer>);
  // A bearer of a management token's length, so both sides send the same headers.
  const metadata = bearer(`rg_sandbox_${'x'.repeat(49)}`);
  return () =>
    call(payload, metadata).then((r) => {
      if (r.length !== payload.length) throw new Error('echo answered with other bytes');
    });
}

serveRequests({
  async connectRoomgate(r) {
    targets.get(String(r.target))?.close();
    targets.set(String(r.target), new RoomgateTarget(String(r.address), String(r.token)));
  },
  async connectEcho(r) {
    echo = { client: new EchoClient(String(r.address), insecure), payload: randomBytes(ECHO_PAYLOAD_BYTES) };
  },
  async createRooms(r) {
    return target(r.target).createRooms(String(r.prefix), Number(r.count));
  },
  async createListRoom(r) {
    await target(r.target).createListRoom(Number(r.peers), Number(r.pageSize));
  },
  /**
   * Unmeasured CreatePeer calls in a room of their own, which is then
   * deleted with its peers: a new server's code and pool get warm without
   * changing how many peers it stores.
   */
  async warmUp(r) {
    const t = target(r.target);
    const [roomId] = await t.createRooms('warm-up', 1);
    t.roomIds = t.roomIds.filter((id) => id !== roomId);
    const result = await runClosedLoop(createPeer(t, [roomId!]), {
      concurrency: Number(r.concurrency),
      warmupMs: 0,
      durationMs: Number(r.durationMs),
    });
    await unary(t.rooms, t.rooms.deleteRoom)({ roomId: roomId! }, t.auth);
    if (result.errors > 0) throw new Error(`warm-up CreatePeer failed: ${result.firstError}`);
  },
  async tokensAvailable(r) {
    return target(r.target).supply.available;
  },
  async issueTokens(r) {
    await target(r.target).issueTokens(r.peers as PeerRef[], Number(r.concurrency));
  },
  async openSql(r) {
    await sql?.close();
    sql = new SqlBaseline(String(r.connectionString), Number(r.poolSize));
  },
  async openTokenBench(r) {
    await tokenBench?.close();
    tokenBench = await TokenBench.open(String(r.connectionString), Buffer.from(String(r.keyEncryptionKey), 'base64'), String(r.issuer));
  },
  async fillVerifierTokens(r) {
    if (!tokenBench) throw new Error('the token bench is not open');
    await tokenBench.fillVerifier(Number(r.count), Number(r.concurrency));
  },
  async fillTokens(r) {
    if (!tokenBench) throw new Error('the token bench is not open');
    await tokenBench.fill(r.family as Parameters<TokenBench['fill']>[0], Number(r.count), Number(r.concurrency));
  },
  /** Builds the operation of the next phase, so that its set-up is not measured. */
  async prepare(r) {
    const scenario = String(r.scenario);
    const concurrency = Number(r.concurrency);
    if (r.kind === 'echo') prepared = echoOperation();
    else if (r.kind === 'sql') {
      if (!sql) throw new Error('the SQL baseline is not open');
      prepared = sql.createPeer(target(r.target).roomIds);
    } else if (r.kind === 'tokens') {
      if (!tokenBench) throw new Error('the token bench is not open');
      prepared = tokenBench.operation(scenario as TokenScenario);
    } else prepared = grpcOperation(scenario as GrpcScenario, target(r.target), concurrency);
  },
  async run(r): Promise<LoopResult> {
    if (!prepared) throw new Error('run without prepare');
    const operation = prepared;
    prepared = undefined;
    return runClosedLoop(operation, r as unknown as LoopOptions);
  },
});
