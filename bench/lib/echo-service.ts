// The transport baseline: one unary method that returns its request bytes.
// Messages are raw bytes (no protobuf), so it costs only what grpc-js and
// HTTP/2 over loopback cost; roomgate cannot be faster than this.
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

/** The Echo service: `/bench.Echo/Echo` takes bytes and returns them. */
export const echoService = {
  echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: 'echo',
  },
} satisfies grpc.ServiceDefinition;

/** A client of the Echo service, built the way ts-proto's generated clients are. */
export const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');

/** Serves Echo on 127.0.0.1:0; resolves with the server and its port. */
export async function serveEcho(): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(echoService, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}
