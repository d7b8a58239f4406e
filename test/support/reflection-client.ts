// A grpcurl-like reflection consumer for tests: a generic grpc.Client, the
// reflection protocol's own codecs, registries built only from the descriptor
// bytes a server returned, and raw-bytes unary calls. It holds no state and
// opens nothing itself (the caller passes its client in), so it needs no
// isolation of its own; each test file isolates its server as its header says.
import * as grpc from '@grpc/grpc-js';
import { create, createFileRegistry, fromBinary, type DescMethod, type FileRegistry } from '@bufbuild/protobuf';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import * as v1 from '../../src/gen/grpc/reflection/v1/reflection.js';
import * as v1alpha from '../../src/gen/grpc/reflection/v1alpha/reflection.js';

/** A reflection request; v1alpha's generated type is structurally the same. */
export type ReflectionRequest = v1.ServerReflectionRequest;
/** A reflection response; v1alpha's generated type is structurally the same. */
export type ReflectionResponse = v1.ServerReflectionResponse;

/** The host every request built here names; servers echo it as valid_host. */
export const REFLECTION_HOST = 'roomgate.test:443';

/** Both protocol versions: the method path and the codecs to speak it. */
export const REFLECTION_VERSIONS = [
  { name: 'v1', path: v1.ServerReflectionService.serverReflectionInfo.path, codec: v1 },
  { name: 'v1alpha', path: v1alpha.ServerReflectionService.serverReflectionInfo.path, codec: v1alpha },
] as const;

/** One entry of {@link REFLECTION_VERSIONS}. */
export type ReflectionVersion = (typeof REFLECTION_VERSIONS)[number];

/** A request for `messageRequest` on {@link REFLECTION_HOST}. */
export function ask(messageRequest: ReflectionRequest['messageRequest']): ReflectionRequest {
  return { host: REFLECTION_HOST, messageRequest };
}

/** A file_containing_symbol request. */
export function symbolRequest(symbol: string): ReflectionRequest {
  return ask({ $case: 'fileContainingSymbol', value: symbol });
}

/** A file_by_filename request. */
export function fileRequest(fileName: string): ReflectionRequest {
  return ask({ $case: 'fileByFilename', value: fileName });
}

/** The error code of an error_response, else which response it is. */
export function outcome(response: ReflectionResponse): number | string | undefined {
  const answer = response.messageResponse;
  return answer?.$case === 'errorResponse' ? answer.value.errorCode : answer?.$case;
}

/**
 * Sends every request on one stream of `client`, half-closes, and returns the
 * answers once it ends OK. A Buffer is sent as is, to test malformed input.
 */
export function reflectAll(
  client: grpc.Client,
  version: ReflectionVersion,
  requests: (ReflectionRequest | Buffer)[],
): Promise<ReflectionResponse[]> {
  const { ServerReflectionRequest, ServerReflectionResponse } = version.codec;
  return new Promise((resolve, reject) => {
    const responses: ReflectionResponse[] = [];
    const call = client.makeBidiStreamRequest(
      version.path,
      (r: ReflectionRequest | Buffer) =>
        Buffer.isBuffer(r) ? r : Buffer.from(ServerReflectionRequest.encode(r).finish()),
      (bytes: Buffer) => ServerReflectionResponse.decode(bytes),
    );
    call.on('data', (response: ReflectionResponse) => responses.push(response));
    call.on('error', reject);
    call.on('status', (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK) resolve(responses);
      else reject(new Error(`stream ended with ${status.code}: ${status.details}`));
    });
    for (const request of requests) call.write(request);
    call.end();
  });
}

/** The service names of a list_services answer; throws on any other answer. */
export function servicesOf(response: ReflectionResponse): string[] {
  if (response.messageResponse?.$case !== 'listServicesResponse') {
    throw new Error(`expected a service list, got ${JSON.stringify(response.messageResponse)}`);
  }
  return response.messageResponse.value.service.map((s) => s.name);
}

/** The serialized files of a file_descriptor_response; throws on any other answer. */
export function bytesOf(response: ReflectionResponse): Uint8Array[] {
  if (response.messageResponse?.$case !== 'fileDescriptorResponse') {
    throw new Error(`expected file descriptors, got ${JSON.stringify(response.messageResponse)}`);
  }
  return response.messageResponse.value.fileDescriptorProto;
}

/** The files of a file_descriptor_response, parsed. */
export function filesOf(response: ReflectionResponse): FileDescriptorProto[] {
  return bytesOf(response).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
}

/**
 * A registry of `files` alone. The set form wants imports first; a missing
 * import makes it throw. (The resolver form of createFileRegistry in
 * @bufbuild/protobuf 2.17 mis-orders diamond imports, so it is not used.)
 */
export function registryFrom(files: FileDescriptorProto[]): FileRegistry {
  const byName = new Map(files.map((f) => [f.name, f]));
  const seen = new Set<string>();
  const ordered: FileDescriptorProto[] = [];
  const visit = (file: FileDescriptorProto): void => {
    if (seen.has(file.name)) return;
    seen.add(file.name);
    for (const name of file.dependency) {
      const dependency = byName.get(name);
      if (dependency !== undefined) visit(dependency);
    }
    ordered.push(file);
  };
  files.forEach(visit);
  return createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
}

/** Method `method` of service `service` (fully qualified) in `registry`; throws when absent. */
export function methodOf(registry: FileRegistry, service: string, method: string): DescMethod {
  const found = registry.getService(service)?.methods.find((m) => m.name === method);
  if (found === undefined) throw new Error(`${service}/${method} is not in the registry`);
  return found;
}

/** The leading comment protoc recorded for an RPC (source path: service 6, method 2). */
export function leadingComment(method: DescMethod): string | undefined {
  const service = method.parent;
  const path = [6, service.file.services.indexOf(service), 2, service.methods.indexOf(method)];
  return service.file.proto.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((p, i) => p === path[i]),
  )?.leadingComments;
}

/** Each file's bytes exactly as they sit in a serialized FileDescriptorSet. */
export function rawFilesOfSet(descriptorSet: Uint8Array): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const reader = new BinaryReader(descriptorSet);
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo !== 1) {
      reader.skip(wireType, fieldNo);
      continue;
    }
    const bytes = reader.bytes();
    files.set(fromBinary(FileDescriptorProtoSchema, bytes).name, Buffer.from(bytes));
  }
  return files;
}

/**
 * Calls unary `method` with already-serialized `request` bytes and returns the
 * raw response bytes, as a client with no generated stubs does. Rejects with
 * the grpc-js ServiceError (code, details, metadata) when the call fails.
 */
export function callUnary(
  client: grpc.Client,
  method: DescMethod,
  request: Uint8Array,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/${method.parent.typeName}/${method.name}`,
      (bytes: Uint8Array) => Buffer.from(bytes),
      (bytes: Buffer) => bytes,
      request,
      metadata,
      (err, value) => (err || value === undefined ? reject(err) : resolve(value)),
    );
  });
}
