import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { ServiceDefinition } from '@grpc/grpc-js';

const fatal = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

/**
 * Decodes a protobuf string field. Protobuf requires valid UTF-8, but the
 * generated decoders replace bad bytes with U+FFFD, which would let a
 * malformed identity through looking like a legitimate one. Instead, invalid
 * input decodes to a string ending in a lone surrogate: every validator
 * refuses it as invalid Unicode, with INVALID_ARGUMENT naming the field.
 */
export function decodeUtf8Strictly(bytes: Uint8Array): string {
  try {
    return fatal.decode(bytes);
  } catch {
    return lenient.decode(bytes) + '\uD800';
  }
}

interface Decodable {
  decode(input: BinaryReader): unknown;
}

/**
 * Returns `service` with every request deserializer decoding strings with
 * {@link decodeUtf8Strictly}. `messages` is the generated module; buf lint's
 * RPC_REQUEST_STANDARD_NAME guarantees that method Foo takes FooRequest.
 */
export function withStrictUtf8<S extends ServiceDefinition>(service: S, messages: Record<string, unknown>): S {
  const entries = Object.entries(service).map(([method, definition]) => {
    const type = messages[method[0]!.toUpperCase() + method.slice(1) + 'Request'] as Decodable | undefined;
    if (!type) throw new Error(`no request type for ${method}`);
    return [method, { ...definition, requestDeserialize: (buf: Buffer) => type.decode(new BinaryReader(buf, decodeUtf8Strictly)) }];
  });
  return Object.fromEntries(entries) as S;
}
