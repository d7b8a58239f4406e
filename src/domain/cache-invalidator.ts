/**
 * Drops cached facts about peers, rooms and management tokens when they
 * change. Managers call it right after their own writes commit, so the
 * instance that served a revocation honours it at once; the notification
 * listener calls it for writes made by every other instance.
 */
export interface CacheInvalidator {
  peer(peerId: string): void;
  room(roomId: string): void;
  managementToken(tokenId: string): void;
  /** Forgets everything: after a listener reconnect, or a notice it cannot read. */
  all(): void;
}

/** An invalidator for instances that cache nothing. */
export const NO_CACHE: CacheInvalidator = { peer() {}, room() {}, managementToken() {}, all() {} };

/**
 * Applies one `roomgate_revocations` payload (`peer:<id>`, `room:<id>` or
 * `mtoken:<id>`). Anything else flushes every cache: when unsure, forget.
 */
export function applyRevocationNotice(payload: string, invalidate: CacheInvalidator): void {
  const colon = payload.indexOf(':');
  const kind = payload.slice(0, colon);
  const id = payload.slice(colon + 1);
  if (colon > 0 && id !== '') {
    if (kind === 'peer') return invalidate.peer(id);
    if (kind === 'room') return invalidate.room(id);
    if (kind === 'mtoken') return invalidate.managementToken(id);
  }
  invalidate.all();
}

/**
 * Runs a write, then invalidates, whether the write succeeded or not: a
 * failure may still have committed (a lost connection after COMMIT), and
 * invalidating too often only costs a cache miss.
 */
export async function thenInvalidate<T>(write: Promise<T>, invalidate: () => void): Promise<T> {
  try {
    return await write;
  } finally {
    invalidate();
  }
}
