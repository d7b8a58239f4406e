/**
 * The NOTIFY channels every instance listens on, and the one typed payload
 * among them that carries a revocation. The stores send these inside their
 * transactions (Postgres delivers them on commit only); the notification
 * listener hands them to the cache invalidator on every instance.
 */
export const NOTIFY_CHANNELS = {
  /** A peer, room or management token changed: payload is an encoded {@link RevocationNotice}. */
  revocations: 'roomgate_revocations',
  /** A signing key was added or rotated: payload is its kid, informational only. */
  signingKeys: 'roomgate_signing_keys',
  /** An event was appended: payload is its environment, which wakes streams and relays. */
  events: 'roomgate_events',
} as const;

/** What changed, so that every instance drops what it cached about it. */
export type RevocationNotice =
  | { kind: 'peer'; peerId: string }
  | { kind: 'room'; roomId: string }
  | { kind: 'management-token'; tokenId: string };

// The wire prefixes are kept as they were, so instances of mixed versions
// during a rolling upgrade still understand each other.
const PREFIX = { peer: 'peer', room: 'room', 'management-token': 'mtoken' } as const;

/** The NOTIFY payload of a notice: `peer:<id>`, `room:<id>` or `mtoken:<id>`. */
export function encodeRevocationNotice(notice: RevocationNotice): string {
  switch (notice.kind) {
    case 'peer':
      return `${PREFIX.peer}:${notice.peerId}`;
    case 'room':
      return `${PREFIX.room}:${notice.roomId}`;
    case 'management-token':
      return `${PREFIX['management-token']}:${notice.tokenId}`;
  }
}

/** The notice in a payload, or undefined when it is not one this build can read. */
export function decodeRevocationNotice(payload: string): RevocationNotice | undefined {
  const colon = payload.indexOf(':');
  if (colon <= 0 || colon === payload.length - 1) return undefined;
  const prefix = payload.slice(0, colon);
  const id = payload.slice(colon + 1);
  if (prefix === PREFIX.peer) return { kind: 'peer', peerId: id };
  if (prefix === PREFIX.room) return { kind: 'room', roomId: id };
  if (prefix === PREFIX['management-token']) return { kind: 'management-token', tokenId: id };
  return undefined;
}
