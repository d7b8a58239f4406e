import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';

/** The fully qualified name of the health service, for reflection's list_services. */
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

/** The statuses the server reports; UNKNOWN is never set on purpose. */
export type ServingStatus = 'SERVING' | 'NOT_SERVING';

type WatchCall = grpc.ServerWritableStream<unknown, unknown>;

/**
 * grpc.health.v1.Health (Check, Watch and List) for the whole server ("") and
 * each named service, all switched together: the services share one process
 * and one database, so none is healthier than the server.
 */
export class ServerHealth {
  readonly #implementation: HealthImplementation;
  readonly #names: readonly string[];
  readonly #watches = new Set<WatchCall>();
  #shutDown = false;
  #status: ServingStatus;

  /** Reports `status` for "" and for every name in `services`. */
  constructor(services: readonly string[], status: ServingStatus) {
    this.#names = ['', ...services];
    this.#status = status;
    this.#implementation = new HealthImplementation(
      Object.fromEntries(this.#names.map((name) => [name, status])),
    );
  }

  /** Registers the Health service on `server`. */
  addToServer(server: grpc.Server): void {
    // Watch calls are tracked so that shutdown can end them: a Watch never
    // ends on its own, and one left open holds tryShutdown for the whole grace.
    const tracking = {
      addService: (service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) => {
        const watch = impl.watch as (call: WatchCall) => void;
        server.addService(service, {
          ...impl,
          watch: (call: WatchCall) => {
            this.#watches.add(call);
            call.once('cancelled', () => this.#watches.delete(call));
            watch(call);
          },
        });
      },
    };
    this.#implementation.addToServer(tracking as unknown as grpc.Server);
  }

  /** Sets every name to `status` and notifies open Watch streams; after {@link shutdown}, does nothing. */
  setStatus(status: ServingStatus): void {
    // The ended Watch calls are still the library's watchers: writing to them
    // would fail, and replace the status they were ended with.
    if (this.#shutDown) return;
    this.#status = status;
    for (const name of this.#names) this.#implementation.setStatus(name, status);
  }

  /** The status every name reports now (HTTP /readyz answers from it). */
  get status(): ServingStatus {
    return this.#status;
  }

  /**
   * For shutdown: reports NOT_SERVING, then ends every open Watch with
   * UNAVAILABLE, so that a watcher sees the switch and a status rather than a
   * connection torn down at the end of the grace period.
   */
  shutdown(): void {
    this.setStatus('NOT_SERVING');
    this.#shutDown = true;
    for (const call of this.#watches) {
      // Queued behind the NOT_SERVING just written.
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'server shutting down', metadata: new grpc.Metadata() });
    }
    this.#watches.clear();
  }
}
