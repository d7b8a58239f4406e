import type { RedeemJoinCodeResponse } from '../gen/roomgate/v1/join_code_service_pb.js';

/**
 * Names of the fragment parameters the app receives (docs/join-codes.md):
 * the peer token, when it expires (RFC 3339, UTC), the room and the peer.
 */
export const FRAGMENT_PARAMS = {
  token: 'roomgate_token',
  expiresAt: 'roomgate_expires_at',
  roomId: 'roomgate_room_id',
  peerId: 'roomgate_peer_id',
  identity: 'roomgate_identity',
} as const;

/**
 * The URL to hand the token on to: the app URL the server chose from the
 * environment's allow-list, with everything in the fragment, which browsers
 * never send to a server and which stays out of logs and Referer headers.
 * Undefined when the server gave no http(s) URL to go to.
 */
export function handOffUrl(res: RedeemJoinCodeResponse): string | undefined {
  let target: URL;
  try {
    target = new URL(res.appUrl);
  } catch {
    return undefined;
  }
  // The allow-list holds only http(s) URLs without a fragment; anything else is not followed.
  if ((target.protocol !== 'https:' && target.protocol !== 'http:') || res.appUrl.includes('#')) return undefined;
  const expires = res.tokenExpireTime;
  const params = new URLSearchParams({
    [FRAGMENT_PARAMS.token]: res.peerToken,
    [FRAGMENT_PARAMS.expiresAt]: expires ? new Date(Number(expires.seconds) * 1000).toISOString() : '',
    [FRAGMENT_PARAMS.roomId]: res.peer?.roomId ?? '',
    [FRAGMENT_PARAMS.peerId]: res.peer?.id ?? '',
    [FRAGMENT_PARAMS.identity]: res.peer?.identity ?? '',
  });
  return `${res.appUrl}#${params.toString()}`;
}
