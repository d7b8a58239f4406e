import * as grpc from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import {
  FileDescriptorProtoSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import * as v1 from '../gen/grpc/reflection/v1/reflection.js';
import * as v1alpha from '../gen/grpc/reflection/v1alpha/reflection.js';

// v1alpha's generated types are structurally identical to v1's (same fields,
// same numbers), so one implementation answers both.
type ReflectionRequest = v1.ServerReflectionRequest;
type ReflectionResponse = v1.ServerReflectionResponse;
type MessageResponse = ReflectionResponse['messageResponse'];

/** The fully qualified names of the two reflection services, for `services`. */
export const REFLECTION_SERVICE_NAMES = [
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
] as const;

/** What {@link ReflectionService} serves. */
export interface ReflectionOptions {
  /** A serialized google.protobuf.FileDescriptorSet, as `buf build` writes it; served byte for byte. */
  descriptorSet: Uint8Array;
  /** Fully qualified service names that list_services reports; each must be defined in `descriptorSet`. */
  services: readonly string[];
}

/** A request as it came off the wire: decoded, or the reason it could not be. */
type Incoming = { request: ReflectionRequest } | { malformed: string };

const METHODS: readonly grpc.MethodDefinition<ReflectionRequest, ReflectionResponse>[] = [
  v1.ServerReflectionService.serverReflectionInfo,
  v1alpha.ServerReflectionService.serverReflectionInfo,
];

const NOT_FOUND = grpc.status.NOT_FOUND;
const INVALID_ARGUMENT = grpc.status.INVALID_ARGUMENT;

/**
 * grpc.reflection.v1 and v1alpha ServerReflection, answered from a prebuilt
 * FileDescriptorSet rather than from what the runtime loaded, so clients get
 * exactly what `buf build` compiled (imports, map entries and comments intact).
 */
export class ReflectionService {
  readonly #index: DescriptorIndex;
  readonly #services: readonly string[];

  /** Indexes the set once; throws if it is not self-contained or lacks a listed service. */
  constructor(options: ReflectionOptions) {
    this.#index = new DescriptorIndex(options.descriptorSet);
    for (const name of options.services) {
      if (!this.#index.services.has(name)) {
        throw new Error(`reflection: service ${name} is not in the descriptor set`);
      }
    }
    this.#services = [...options.services];
  }

  /** Registers both reflection services on `server`. */
  addToServer(server: grpc.Server): void {
    for (const method of METHODS) {
      const definition: grpc.ServiceDefinition = {
        serverReflectionInfo: {
          ...method,
          // grpc-js fails the whole stream with INTERNAL when a deserializer
          // throws; the protocol's way to reject one request is error_response.
          requestDeserialize: (bytes: Buffer): Incoming => {
            try {
              return { request: method.requestDeserialize(bytes) };
            } catch (err) {
              return { malformed: err instanceof Error ? err.message : String(err) };
            }
          },
        },
      };
      server.addService(definition, {
        serverReflectionInfo: (call: grpc.ServerDuplexStream<Incoming, ReflectionResponse>) =>
          this.#serve(call),
      });
    }
  }

  /** Answers one reflection request; never throws. */
  answer(request: ReflectionRequest): ReflectionResponse {
    let messageResponse: MessageResponse;
    try {
      messageResponse = this.#respond(request.messageRequest);
    } catch {
      messageResponse = errorResponse(grpc.status.INTERNAL, 'internal error');
    }
    return { validHost: request.host, originalRequest: request, messageResponse };
  }

  #serve(call: grpc.ServerDuplexStream<Incoming, ReflectionResponse>): void {
    call.on('data', (incoming: Incoming) => {
      const response =
        'request' in incoming
          ? this.answer(incoming.request)
          : {
              validHost: '',
              originalRequest: undefined,
              messageResponse: errorResponse(
                INVALID_ARGUMENT,
                `malformed ServerReflectionRequest: ${incoming.malformed}`,
              ),
            };
      // A client that pipelines requests without reading the answers must not
      // make us buffer without bound.
      if (!call.write(response)) {
        call.pause();
        call.once('drain', () => call.resume());
      }
    });
    call.on('end', () => call.end());
  }

  #respond(messageRequest: ReflectionRequest['messageRequest']): MessageResponse {
    switch (messageRequest?.$case) {
      case 'listServices':
        return {
          $case: 'listServicesResponse',
          value: { service: this.#services.map((name) => ({ name })) },
        };
      case 'fileByFilename':
        return this.#files(this.#index.files.get(messageRequest.value), `file ${messageRequest.value}`);
      case 'fileContainingSymbol': {
        const file = this.#index.symbols.get(messageRequest.value);
        return this.#files(
          file === undefined ? undefined : this.#index.files.get(file),
          `symbol ${messageRequest.value}`,
        );
      }
      case 'fileContainingExtension': {
        const { containingType, extensionNumber } = messageRequest.value;
        const file = this.#index.extensions.get(containingType)?.get(extensionNumber);
        return this.#files(
          file === undefined ? undefined : this.#index.files.get(file),
          `extension ${extensionNumber} of ${containingType}`,
        );
      }
      case 'allExtensionNumbersOfType': {
        const type = messageRequest.value;
        if (!this.#index.messages.has(type)) {
          return errorResponse(NOT_FOUND, `message type ${type} not found`);
        }
        const numbers = [...(this.#index.extensions.get(type)?.keys() ?? [])].sort((a, b) => a - b);
        return {
          $case: 'allExtensionNumbersResponse',
          value: { baseTypeName: type, extensionNumber: numbers },
        };
      }
      case undefined:
        return errorResponse(INVALID_ARGUMENT, 'message_request is not set');
    }
  }

  #files(closure: Buffer[] | undefined, what: string): MessageResponse {
    if (closure === undefined) return errorResponse(NOT_FOUND, `${what} not found`);
    return { $case: 'fileDescriptorResponse', value: { fileDescriptorProto: closure } };
  }
}

/** Builds a {@link ReflectionService} and registers it on `server`. */
export function addReflectionService(server: grpc.Server, options: ReflectionOptions): ReflectionService {
  const service = new ReflectionService(options);
  service.addToServer(server);
  return service;
}

function errorResponse(errorCode: number, errorMessage: string): MessageResponse {
  return { $case: 'errorResponse', value: { errorCode, errorMessage } };
}

/** Lookups over a FileDescriptorSet, built once. */
class DescriptorIndex {
  /** File name → its raw bytes followed by those of every transitive dependency. */
  readonly files = new Map<string, Buffer[]>();
  /** Fully qualified symbol (no leading dot) → name of the file defining it. */
  readonly symbols = new Map<string, string>();
  readonly messages = new Set<string>();
  readonly services = new Set<string>();
  /** Extendee → extension number → name of the file defining the extension. */
  readonly extensions = new Map<string, Map<number, string>>();

  constructor(descriptorSet: Uint8Array) {
    const raw = new Map<string, Buffer>();
    const parsed = new Map<string, FileDescriptorProto>();
    for (const bytes of fileEntries(descriptorSet)) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      if (raw.has(file.name)) throw new Error(`reflection: file ${file.name} appears twice`);
      raw.set(file.name, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      parsed.set(file.name, file);
      this.#indexFile(file);
    }
    for (const name of parsed.keys()) {
      const order = [name];
      // Breadth-first from the file itself, so the requested file comes first
      // as grpc-go and grpc-java send it.
      for (let i = 0; i < order.length; i++) {
        const file = parsed.get(order[i] as string);
        if (file === undefined) {
          throw new Error(`reflection: ${order[i]} is imported but not in the descriptor set`);
        }
        for (const dependency of file.dependency) {
          if (!order.includes(dependency)) order.push(dependency);
        }
      }
      this.files.set(name, order.map((n) => raw.get(n) as Buffer));
    }
  }

  #indexFile(file: FileDescriptorProto): void {
    const scope = file.package === '' ? '' : `${file.package}.`;
    for (const message of file.messageType) this.#indexMessage(file.name, scope, message);
    for (const enumType of file.enumType) this.#indexEnum(file.name, scope, enumType);
    for (const extension of file.extension) this.#indexExtension(file.name, scope, extension);
    for (const service of file.service) {
      const name = scope + service.name;
      this.#define(file.name, name);
      this.services.add(name);
      for (const method of service.method) this.#define(file.name, `${name}.${method.name}`);
    }
  }

  #indexMessage(fileName: string, scope: string, message: DescriptorProto): void {
    const name = scope + message.name;
    this.#define(fileName, name);
    this.messages.add(name);
    for (const field of message.field) this.#define(fileName, `${name}.${field.name}`);
    for (const oneof of message.oneofDecl) this.#define(fileName, `${name}.${oneof.name}`);
    for (const nested of message.nestedType) this.#indexMessage(fileName, `${name}.`, nested);
    for (const enumType of message.enumType) this.#indexEnum(fileName, `${name}.`, enumType);
    for (const extension of message.extension) this.#indexExtension(fileName, `${name}.`, extension);
  }

  #indexEnum(fileName: string, scope: string, enumType: EnumDescriptorProto): void {
    this.#define(fileName, scope + enumType.name);
    // Enum values are scoped as siblings of their enum (C++ rules), which is
    // how protoc, grpc-go and grpc-java name them.
    for (const value of enumType.value) this.#define(fileName, scope + value.name);
  }

  #indexExtension(fileName: string, scope: string, extension: FieldDescriptorProto): void {
    this.#define(fileName, scope + extension.name);
    const extendee = extension.extendee.replace(/^\./, '');
    let numbers = this.extensions.get(extendee);
    if (numbers === undefined) {
      numbers = new Map();
      this.extensions.set(extendee, numbers);
    }
    numbers.set(extension.number, fileName);
  }

  #define(fileName: string, symbol: string): void {
    if (this.symbols.has(symbol)) throw new Error(`reflection: ${symbol} is defined twice`);
    this.symbols.set(symbol, fileName);
  }
}

/** The raw bytes of each `file` entry (field 1) of a serialized FileDescriptorSet. */
function fileEntries(descriptorSet: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(descriptorSet);
  const entries: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1 && wireType === WireType.LengthDelimited) entries.push(reader.bytes());
    else reader.skip(wireType, fieldNo);
  }
  return entries;
}
