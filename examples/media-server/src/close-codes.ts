import type { InvalidReason } from '@roomgate/client/verifier';

/** A WebSocket close code and its reason text (at most 123 bytes, per RFC 6455). */
export interface CloseCode {
  code: number;
  reason: string;
}

// Private-use codes (4000-4999, RFC 6455 section 7.4.2): one per cause, so a
// client can switch on the number; the reason text names it too. The README's
// table is the contract; keep the two in step.
/** Why the adapter closed a socket, or refused to admit it. */
export const CLOSE = {
  tokenMissing: { code: 4000, reason: 'token_missing' },
  malformed: { code: 4001, reason: 'malformed' },
  badSignature: { code: 4002, reason: 'bad_signature' },
  expired: { code: 4003, reason: 'expired' },
  notYetValid: { code: 4004, reason: 'not_yet_valid' },
  wrongIssuer: { code: 4005, reason: 'wrong_issuer' },
  wrongEnvironment: { code: 4006, reason: 'wrong_environment' },
  wrongRoom: { code: 4007, reason: 'wrong_room' },
  revoked: { code: 4008, reason: 'revoked' },
  superseded: { code: 4009, reason: 'superseded' },
  stale: { code: 4010, reason: 'verifier_stale' },
  replaced: { code: 4011, reason: 'replaced' },
  /** Standard 1013 "Try Again Later": the server is at its connection limit. */
  full: { code: 1013, reason: 'server_full' },
  /** Standard 1001 "Going Away": the adapter is shutting down. */
  shutdown: { code: 1001, reason: 'server_shutdown' },
} as const satisfies Record<string, CloseCode>;

const BY_REASON: Record<InvalidReason, CloseCode> = {
  MALFORMED: CLOSE.malformed,
  BAD_SIGNATURE: CLOSE.badSignature,
  EXPIRED: CLOSE.expired,
  NOT_YET_VALID: CLOSE.notYetValid,
  WRONG_ISSUER: CLOSE.wrongIssuer,
  WRONG_ENVIRONMENT: CLOSE.wrongEnvironment,
  WRONG_ROOM: CLOSE.wrongRoom,
  REVOKED: CLOSE.revoked,
  SUPERSEDED: CLOSE.superseded,
  STALE: CLOSE.stale,
};

/** The close code for a verifier's refusal reason. */
export function closeFor(reason: InvalidReason): CloseCode {
  return BY_REASON[reason];
}
