// The load generator of `npm run soak` and `npm run bench:instances`, forked
// by their orchestrators (bench/soak.ts, bench/scale-out.ts) so that its CPU
// and memory are not the server's nor the orchestrator's. The soak drives the
// room-and-peer mix (soak-mix.ts), closed-loop to find the saturating rate and
// then open-loop, with WatchEvents streams; the scale-out run drives CreatePeer
// then VerifyPeerToken across several servers on one database.
import { runAll, runClosedLoop, type LoopResult, type Operation } from './closed-loop.js';
import { unary } from './grpc-call.js';
import { createPeer } from './grpc-scenarios.js';
import { RoomgateTarget } from './roomgate-target.js';
import { SoakMix } from './soak-mix.js';
import { OpenLoop } from './soak-open-loop.js';
import { EventWatchers } from './soak-streams.js';
import { serveRequests } from './worker-ipc.js';

let mix: SoakMix | undefined;
let streams: EventWatchers | undefined;
let loop: OpenLoop | undefined;
let instances: RoomgateTarget[] = [];

function soakMix(): SoakMix {
  if (!mix) throw new Error('not connected');
  return mix;
}

/**
 * Caller i alternates CreatePeer on instance i mod n with VerifyPeerToken of
 * a token that instance just issued, sent to the next instance, as a media
 * server behind another replica would check it.
 */
function createThenVerify(n: number): Operation {
  const used = instances.slice(0, n);
  const rooms = instances[0]!.roomIds;
  const creates = used.map((t) => createPeer(t, rooms));
  const verifies = used.map((t) => unary(t.tokens, t.tokens.verifyPeerToken));
  const created: boolean[] = [];
  return (caller) => {
    const k = caller % n;
    if (!created[caller]) {
      const pending = creates[k]!(caller);
      return pending && pending.then(() => (created[caller] = true));
    }
    created[caller] = false;
    // This caller's CreatePeer added a token to instance k's supply, so there is one.
    const next = used[k]!.supply.take()!;
    return verifies[(k + 1) % n]!({ token: next.token, roomId: next.roomId }, used[k]!.auth).then((r) => {
      if (!r.valid) throw new Error(`VerifyPeerToken refused a new peer's token (reason ${r.reason})`);
    });
  };
}

serveRequests({
  async connect(r) {
    mix = new SoakMix(new RoomgateTarget(String(r.address), String(r.token)));
    streams = new EventWatchers(String(r.address), mix.target.auth, Number(r.streams));
  },
  /** Rooms to start from, so the first calls have subjects. */
  async populate(r) {
    const m = soakMix();
    await runAll(Number(r.rooms), 8, () => m.start('CreateRoom').call);
    return m.size;
  },
  /** The mix in a closed loop: the rate the server sustains at this concurrency. */
  async saturate(r): Promise<LoopResult> {
    const m = soakMix();
    return runClosedLoop(() => m.next().call, {
      concurrency: Number(r.concurrency),
      warmupMs: Number(r.warmupMs),
      durationMs: Number(r.durationMs),
    });
  },
  async startOpenLoop(r) {
    const m = soakMix();
    await streams!.start();
    loop = new OpenLoop(() => m.next(), Number(r.rate));
    loop.start();
  },
  async sample() {
    if (!loop) throw new Error('the open loop is not running');
    return { loop: loop.takeInterval(), streams: streams!.takeInterval(), live: soakMix().size };
  },
  /** Stops the open loop and the streams; the per-call figures of the whole soak. */
  async finish() {
    await loop?.stop();
    streams?.stop();
    return { operations: loop?.operationTotals() ?? [], live: mix?.size };
  },

  async connectInstances(r) {
    for (const t of instances) t.close();
    instances = (r.addresses as string[]).map((address) => new RoomgateTarget(address, String(r.token)));
    // Named after the server count: room names are unique, and the rooms of earlier counts are still there.
    await instances[0]!.createRooms(`scale-out-${instances.length}`, Number(r.rooms));
  },
  async scaleOut(r): Promise<LoopResult> {
    return runClosedLoop(createThenVerify(Number(r.instances)), {
      concurrency: Number(r.concurrency),
      warmupMs: Number(r.warmupMs),
      durationMs: Number(r.durationMs),
    });
  },
});
