// How a relay shares its slots: between environments here, between
// endpoints in the claim (src/store/webhook-delivery-queue.ts).

/**
 * Attempts one endpoint may have in flight by default. Two, not one: an
 * endpoint serving many rooms still gets some parallelism (each room's events
 * go one at a time anyway), while a dead endpoint ties up two slots at most.
 */
export const DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT = 2;

/**
 * The slots of a relay any one environment may fill: all but a quarter
 * (rounded up) of them, which stay for the other environments. An environment
 * alone still gets most of the relay; one whose endpoints all hang (8 sandbox
 * tarpits) leaves the rest free for production. With one slot there is
 * nothing to share.
 */
export function environmentShare(concurrency: number): number {
  return concurrency <= 1 ? concurrency : concurrency - Math.ceil(concurrency / 4);
}
