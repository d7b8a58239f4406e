import { decodeRevocationNotice } from './revocation-notice.js';

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
 * Applies one revocation notice's payload. Anything it cannot read flushes
 * every cache: when unsure, forget.
 */
export function applyRevocationNotice(payload: string, invalidate: CacheInvalidator): void {
  const notice = decodeRevocationNotice(payload);
  if (notice?.kind === 'peer') return invalidate.peer(notice.peerId);
  if (notice?.kind === 'room') return invalidate.room(notice.roomId);
  if (notice?.kind === 'management-token') return invalidate.managementToken(notice.tokenId);
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
