// @roomgate/client/verifier: offline verification of roomgate peer tokens for
// media servers and gateways, with the revocation feed.
export {
  PeerTokenVerifier,
  type Freshness,
  type InvalidReason,
  type RevocationChange,
  type VerifiedClaims,
  type VerifierOptions,
  type VerifyResult,
} from './verifier.js';
export type { KeySetStatus } from './key-set.js';
export type { RevocationCounts } from './revocations.js';
