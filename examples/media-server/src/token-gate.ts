import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { TokenInvalidReason, type RoomgateClient } from '@roomgate/client';
import type { InvalidReason, PeerTokenVerifier, VerifiedClaims } from '@roomgate/client/verifier';
import type { Logger } from './log.js';

/** A join the gate lets in, or the reason it does not. */
export type Admission = { ok: true; claims: VerifiedClaims; stale: boolean } | { ok: false; reason: InvalidReason };

/** What the gate needs to know about the verifier's feed. */
export interface TokenGateOptions {
  verifier: Pick<PeerTokenVerifier, 'verify'>;
  client: RoomgateClient;
  log: Logger;
  /** When the feed's starting point was fixed (ms): revocations before it are not in the verifier. */
  feedStartedAtMs: number;
  /** The verifier's clock tolerance, in seconds. */
  clockToleranceSeconds: number;
  /** Whether to refuse (fail closed) or admit (fail open) when the online check cannot be made. */
  failClosed: boolean;
}

/**
 * Admits a token on the offline verifier's word, except a token issued
 * before the feed started: the feed streams revocations from its start on, so
 * a peer deleted (or a room deleted, a permission change) before then is
 * unknown to it. Such a token is asked about once more with VerifyPeerToken.
 * Once the process has run for a token lifetime (24 h at most), no live token
 * predates the feed and every join is offline.
 */
export class TokenGate {
  constructor(private readonly options: TokenGateOptions) {}

  /** Verifies `token` for `roomId`. */
  async check(token: string, roomId: string): Promise<Admission> {
    const result = await this.options.verifier.verify(token, { roomId });
    if (!result.valid) return { ok: false, reason: result.reason };
    const { claims } = result;
    const issuedBeforeFeedMs = this.options.feedStartedAtMs + this.options.clockToleranceSeconds * 1000;
    if (claims.issuedAt.getTime() >= issuedBeforeFeedMs) return { ok: true, claims, stale: result.stale };
    try {
      const online = await this.options.client.tokens.verifyPeerToken({ token, roomId }, { deadlineMs: 2_000 });
      this.options.log('debug', 'checked online (issued before the feed started)', { roomId, peerId: claims.peerId, valid: online.valid });
      if (online.valid) return { ok: true, claims, stale: result.stale };
      return { ok: false, reason: reasonOf(online.reason) };
    } catch (e) {
      const err = e as ServiceError;
      this.options.log('warn', 'online check failed', { roomId, peerId: claims.peerId, grpcCode: err.code, details: err.details });
      // An answer roomgate could not give is treated as the feed being stale.
      if (this.options.failClosed || err.code === grpcStatus.PERMISSION_DENIED) return { ok: false, reason: 'STALE' };
      return { ok: true, claims, stale: true };
    }
  }
}

const REASONS: Partial<Record<TokenInvalidReason, InvalidReason>> = {
  [TokenInvalidReason.TOKEN_INVALID_REASON_EXPIRED]: 'EXPIRED',
  [TokenInvalidReason.TOKEN_INVALID_REASON_REVOKED]: 'REVOKED',
  [TokenInvalidReason.TOKEN_INVALID_REASON_BAD_SIGNATURE]: 'BAD_SIGNATURE',
  [TokenInvalidReason.TOKEN_INVALID_REASON_MALFORMED]: 'MALFORMED',
  [TokenInvalidReason.TOKEN_INVALID_REASON_WRONG_ENVIRONMENT]: 'WRONG_ENVIRONMENT',
  [TokenInvalidReason.TOKEN_INVALID_REASON_WRONG_ROOM]: 'WRONG_ROOM',
  [TokenInvalidReason.TOKEN_INVALID_REASON_NOT_YET_VALID]: 'NOT_YET_VALID',
  [TokenInvalidReason.TOKEN_INVALID_REASON_WRONG_ISSUER]: 'WRONG_ISSUER',
  [TokenInvalidReason.TOKEN_INVALID_REASON_SUPERSEDED]: 'SUPERSEDED',
};

function reasonOf(reason: TokenInvalidReason): InvalidReason {
  return REASONS[reason] ?? 'MALFORMED';
}
