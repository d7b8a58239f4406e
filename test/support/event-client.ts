// A promise client for roomgate.v1.EventService's unary methods, built from the
// generated service definition, for tests until the exported client has one.
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import * as messages from '../../src/gen/roomgate/v1/event_service.js';
import { EventServiceService } from '../../src/gen/roomgate/v1/event_service.js';

type Definitions = typeof EventServiceService;
type UnaryMethod = { [K in keyof Definitions]: Definitions[K]['responseStream'] extends false ? K : never }[keyof Definitions];
type RequestOf<M extends UnaryMethod> = Parameters<Definitions[M]['requestSerialize']>[0];
type ResponseOf<M extends UnaryMethod> = ReturnType<Definitions[M]['responseDeserialize']>;

/** Calls EventService methods with a bearer token. */
export interface EventClient {
  call<M extends UnaryMethod>(method: M, request: messages.DeepPartial<RequestOf<M>>, token: string): Promise<ResponseOf<M>>;
  close(): void;
}

/** Connects to roomgate at `address`. */
export function createEventClient(address: string): EventClient {
  const client = new Client(address, credentials.createInsecure());
  return {
    call: (method, partial, token) => {
      const def = EventServiceService[method];
      const type = (messages as Record<string, unknown>)[method[0]!.toUpperCase() + method.slice(1) + 'Request'] as {
        fromPartial(p: unknown): never;
      };
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          def.path,
          def.requestSerialize as (value: unknown) => Buffer,
          def.responseDeserialize,
          type.fromPartial(partial),
          metadata,
          { deadline: Date.now() + 10_000 },
          (err: ServiceError | null, res?: unknown) => (err ? reject(err) : resolve(res as never)),
        );
      });
    },
    close: () => client.close(),
  };
}
