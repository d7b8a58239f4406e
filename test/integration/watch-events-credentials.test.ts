// WatchEvents streams end with UNAUTHENTICATED once their token stops
// holding: revoked (on another instance, reached by the revocation NOTIFY),
// at the end of a revocation's grace period, and at expiry. Two full
// roomgates (startTestRoomgate) on this file's own database: `t` takes the
// revocations and writes, `other` serves the streams, as a second instance
// behind a load balancer would.
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import { ManagementTokenManager } from '../../src/domain/management-token-manager.js';
import { NO_CACHE } from '../../src/domain/cache-invalidator.js';
import { PageTokens } from '../../src/domain/pagination.js';
import { systemClock } from '../../src/domain/clock.js';
import { PgManagementTokenStore } from '../../src/store/management-token-store.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { Watch } from '../support/watch.js';

let t: TestRoomgate;
let other: TestRoomgate;
let admin: string;

beforeAll(async () => {
  t = await startTestRoomgate();
  other = await startTestRoomgate({}, { sharing: t });
  admin = await t.managementToken('sandbox');
});
afterAll(async () => {
  await other?.close();
  await t?.close();
});

/** A `read` token of the sandbox, with its id; it expires at `expiresAt` when given. */
async function readToken(expiresAt: Date | null = null): Promise<{ token: string; id: string }> {
  const tokens = new ManagementTokenManager(new PgManagementTokenStore(t.db.pool), systemClock, DEFAULT_LIMITS, NO_CACHE, new PageTokens(randomBytes(32)));
  const minted = await tokens.mint('sandbox', { name: 'watcher', scopes: ['read'], expiresAt });
  return { token: minted.token, id: minted.record.id };
}

/** Opens a stream on `other` and waits until it has subscribed and received one event, so it is known to be live. */
async function liveWatch(token: string): Promise<Watch> {
  const watch = new Watch(other.client.eventStream, {}, token);
  await watch.subscribed;
  await t.client.rooms.createRoom({}, { token: admin });
  await watch.received(1);
  return watch;
}

/** Waits for the stream to end, and how long that took from `since`. */
async function endedAfter(watch: Watch, since: number): Promise<{ err: grpc.ServiceError; ms: number }> {
  const err = await watch.ended(5_000);
  return { err, ms: Date.now() - since };
}

describe('WatchEvents credentials', () => {
  it('ends a stream on another instance with UNAUTHENTICATED within 1 s of RevokeManagementToken, before any later event', async () => {
    const { token, id } = await readToken();
    const watch = await liveWatch(token);
    const revokedAt = Date.now();
    await t.client.tokens.revokeManagementToken({ id, graceSeconds: 0 }, { token: admin });
    // Written right after the revocation: the stream must not carry it.
    await t.client.rooms.createRoom({ name: 'after-revocation' }, { token: admin });
    const { err, ms } = await endedAfter(watch, revokedAt);
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toMatch(/revoked or expired/);
    expect(ms).toBeLessThan(1_000);
    expect(watch.events.map((e) => e.payload?.$case === 'roomCreated' && e.payload.value.name)).not.toContain('after-revocation');
  });

  it('keeps a stream open through a revocation grace period and ends it with UNAUTHENTICATED within 1 s of its end', async () => {
    const { token, id } = await readToken();
    const watch = await liveWatch(token);
    const { managementToken } = await t.client.tokens.revokeManagementToken({ id, graceSeconds: 2 }, { token: admin });
    // The end of the grace as the server fixed it, on this machine's one clock.
    const graceEnds = managementToken!.revokeTime!.getTime();
    await new Promise((resolve) => setTimeout(resolve, graceEnds - Date.now() - 500));
    expect(watch.error, 'still open during the grace period').toBeUndefined();
    await t.client.rooms.createRoom({}, { token: admin });
    await watch.received(2);
    const { err, ms } = await endedAfter(watch, graceEnds);
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThan(1_000);
  });

  it('ends a stream with UNAUTHENTICATED within 1 s of its token expiring', async () => {
    const expiresAt = new Date(Date.now() + 2_000);
    const { token } = await readToken(expiresAt);
    const watch = await liveWatch(token);
    expect(watch.error).toBeUndefined();
    const { err, ms } = await endedAfter(watch, expiresAt.getTime());
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThan(1_000);
  });

  it('leaves the streams of other tokens open', async () => {
    const keep = await readToken();
    const drop = await readToken();
    const kept = await liveWatch(keep.token);
    const dropped = new Watch(other.client.eventStream, {}, drop.token);
    await dropped.subscribed;
    await t.client.tokens.revokeManagementToken({ id: drop.id, graceSeconds: 0 }, { token: admin });
    expect((await dropped.ended(2_000)).code).toBe(grpc.status.UNAUTHENTICATED);
    await t.client.rooms.createRoom({}, { token: admin });
    await kept.received(2);
    expect(kept.error).toBeUndefined();
    kept.cancel();
  });
});
