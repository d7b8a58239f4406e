/**
 * Counts RedeemJoinCode attempts, across every instance, per client address
 * and per code, so that neither one address nor many addresses at one code
 * can guess codes faster than the configured limits (docs/join-codes.md).
 */
export interface JoinRateLimiter {
  /**
   * Counts one attempt by the client `clientKey` (see clientKey in
   * src/http/client-address.ts) at the code whose hash is `codeHash`, before
   * the code is looked up; throws ERR_JOIN_RATE_LIMITED, with
   * retryAfterSeconds, when either is over its limit.
   */
  attempt(clientKey: string, codeHash: Buffer): Promise<void>;
}
