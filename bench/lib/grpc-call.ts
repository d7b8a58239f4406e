// The load generator's per-call path, kept as small as what any careful
// client does: a prebuilt request, a clone of a prebuilt Metadata, a deadline,
// and one promise. The echo baseline and roomgate go through the same helper,
// so the client-side cost is the same on both sides of each ratio.
import { credentials, Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';

/** The callback form of every generated unary method (its widest overload). */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

/** The deadline of every benchmark call: long enough never to fire unless something hangs. */
const DEADLINE_MS = 30_000;

/** Plaintext over loopback: the bench measures roomgate, not TLS. */
export const insecure = credentials.createInsecure();

/** Metadata carrying `authorization: Bearer <token>`. */
export function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** Turns `client.method` into `(request, metadata) => Promise<response>`, bound once. */
export function unary<Req, Res>(client: object, method: UnaryMethod<Req, Res>): (request: Req, metadata: Metadata) => Promise<Res> {
  return (request, metadata) =>
    new Promise<Res>((resolve, reject) => {
      // A clone per call, as grpc-js filters may add headers to what they are given.
      method.call(client, request, metadata.clone(), { deadline: Date.now() + DEADLINE_MS }, (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
}
