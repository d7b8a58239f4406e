// The database limit: CreatePeer's transaction run by roomgate's own store
// code (src/store/peer-store.ts) on a pool of the server's size, with the
// same rooms and the same kind of request, minus gRPC, authentication,
// validation and token signing. It is exactly the SQL the server runs,
// idempotency key, room lock, insert, re-read and outbox event included.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { idempotencyKey } from '../../src/domain/idempotency.js';
import { NO_PERMISSIONS } from '../../src/domain/principal.js';
import { PgPeerStore } from '../../src/store/peer-store.js';
import { createPool } from '../../src/store/pool.js';
import type { Operation } from './closed-loop.js';
import { BENCH_PEER, nextIdentity } from './roomgate-target.js';

/** A pool and the store on it, for the direct-SQL CreatePeer baseline. */
export class SqlBaseline {
  private readonly pool: pg.Pool;
  private readonly store: PgPeerStore;

  constructor(connectionString: string, poolSize: number) {
    this.pool = createPool({ connectionString, max: poolSize, onError: () => undefined });
    this.store = new PgPeerStore(this.pool);
  }

  /** CreatePeer's transaction, caller i in room i mod rooms, as the gRPC scenario spreads its calls. */
  createPeer(roomIds: string[]): Operation {
    const { name, metadata, tokenTtlSeconds: ttl } = BENCH_PEER;
    // What PeerManager.create hands the store for the same request.
    const permissions = { ...NO_PERMISSIONS, ...BENCH_PEER.permissions };
    return (caller) => {
      const roomId = roomIds[caller % roomIds.length]!;
      const identity = nextIdentity('sql');
      const key = idempotencyKey(randomUUID(), { roomId, identity, name, metadata, ttl, permissions });
      const issuedAt = Math.floor(Date.now() / 1000);
      // kid: 16 characters, like a real key id, for an idempotency row of the real size.
      const stamp = { jti: randomUUID(), kid: 'bench-kid-000000', issuedAt, expiresAt: issuedAt + ttl };
      return this.store.create(
        { id: randomUUID(), roomId, environment: 'sandbox', identity, name, metadata, permissions, role: '', roleId: null, stamp },
        key,
      );
    };
  }

  /** Ends the pool. */
  close(): Promise<void> {
    return this.pool.end();
  }
}
