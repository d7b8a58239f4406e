import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';

/** The fully qualified name of the health service, for reflection's list_services. */
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

/** The statuses the server reports; UNKNOWN is never set on purpose. */
export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/**
 * grpc.health.v1.Health (Check, Watch and List) for the whole server ("") and
 * each named service, all switched together: the services share one process
 * and one database, so none is healthier than the server.
 */
export class ServerHealth {
  readonly #implementation: HealthImplementation;
  readonly #names: readonly string[];

  /** Reports `status` for "" and for every name in `services`. */
  constructor(services: readonly string[], status: ServingStatus) {
    this.#names = ['', ...services];
    this.#implementation = new HealthImplementation(
      Object.fromEntries(this.#names.map((name) => [name, status])),
    );
  }

  /** Registers the Health service on `server`. */
  addToServer(server: grpc.Server): void {
    this.#implementation.addToServer(server);
  }

  /** Sets every name to `status` and notifies open Watch streams. */
  setStatus(status: ServingStatus): void {
    for (const name of this.#names) this.#implementation.setStatus(name, status);
  }
}
