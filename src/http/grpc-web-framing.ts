// The gRPC-Web wire format (grpc/grpc doc/PROTOCOL-WEB.md): length-prefixed
// frames as in gRPC over HTTP/2, with the trailers as a last frame whose flag
// has the high bit set, optionally base64 text ("-text") for clients that
// cannot read binary bodies.

/** The flag byte of a frame carrying trailers. */
export const TRAILER_FLAG = 0x80;

/** The bytes before each frame's message: a flag and a 32-bit big-endian length. */
export const FRAME_HEADER_BYTES = 5;

/** A request's wire encoding, from its content type. */
export type GrpcWebEncoding = 'binary' | 'text';

/**
 * The encoding of a gRPC-Web content type with the protobuf codec:
 * `application/grpc-web`, `application/grpc-web+proto`, and their `-text`
 * forms, case-insensitive, parameters ignored. Undefined for anything else
 * (JSON included: the server speaks protobuf only).
 */
export function grpcWebEncoding(contentType: string | undefined): GrpcWebEncoding | undefined {
  const type = contentType?.split(';')[0]!.trim().toLowerCase();
  const match = type && /^application\/grpc-web(-text)?(\+proto)?$/.exec(type);
  if (!match) return undefined;
  return match[1] ? 'text' : 'binary';
}

/** The content type of a response in `encoding`. */
export function responseContentType(encoding: GrpcWebEncoding): string {
  return encoding === 'text' ? 'application/grpc-web-text+proto' : 'application/grpc-web+proto';
}

/** Why a request body is not one gRPC-Web message; the text is sent to the client. */
export class FramingError extends Error {
  override readonly name = 'FramingError';
}

/** A request message over the size limit, which gRPC answers with RESOURCE_EXHAUSTED rather than as malformed. */
export class MessageTooLargeError extends FramingError {
  constructor(length: number | undefined, max: number) {
    super(`the request message is larger than the limit of ${max} bytes${length === undefined ? '' : ` (${length})`} (ROOMGATE_GRPC_MAX_MESSAGE_BYTES)`);
  }
}

/**
 * Decodes a `-text` body: base64, possibly in several padded chunks (a client
 * may flush at any point, padding each chunk). Throws {@link FramingError}
 * on anything that is not base64.
 */
export function decodeTextBody(body: Buffer): Buffer {
  const text = body.toString('latin1').replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/=]*$/.test(text)) throw new FramingError('the grpc-web-text body is not base64');
  // Split after each run of padding, so that every chunk decodes on its own.
  const chunks = text.split(/(?<==)(?=[^=])/);
  const parts = chunks.map((chunk) => {
    if (chunk.length % 4 !== 0 || /=[^=]/.test(chunk) || /={3,}$/.test(chunk)) {
      throw new FramingError('the grpc-web-text body is not base64 in chunks of 4 characters');
    }
    return Buffer.from(chunk, 'base64');
  });
  return Buffer.concat(parts);
}

/**
 * The one message of a unary or server-streaming request: the body must be
 * exactly one uncompressed data frame of at most `maxMessageBytes`.
 * Throws {@link FramingError} naming what is wrong.
 */
export function parseRequestMessage(body: Buffer, maxMessageBytes: number): Buffer {
  if (body.length < FRAME_HEADER_BYTES) {
    throw new FramingError(body.length === 0 ? 'the request has no message frame' : 'the request body ends inside a frame header');
  }
  const flag = body[0]!;
  const length = body.readUInt32BE(1);
  if (flag & TRAILER_FLAG) throw new FramingError('a request may not carry a trailer frame');
  if (flag !== 0) throw new FramingError('compressed or flagged request frames are not supported (send flag 0, uncompressed)');
  if (length > maxMessageBytes) throw new MessageTooLargeError(length, maxMessageBytes);
  const end = FRAME_HEADER_BYTES + length;
  if (body.length < end) throw new FramingError(`the request body ends inside its message frame (${body.length - FRAME_HEADER_BYTES} of ${length} bytes)`);
  if (body.length > end) throw new FramingError('the request carries more than one message frame; unary and server-streaming calls take exactly one');
  return body.subarray(FRAME_HEADER_BYTES, end);
}

/** A frame: the flag, the length and `payload`. */
export function frame(flag: number, payload: Buffer): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header[0] = flag;
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** A trailer frame's payload: `name: value` lines with CRLF, names lower case (as PROTOCOL-WEB.md asks). */
export function trailerBlock(trailers: Iterable<[string, string]>): Buffer {
  let text = '';
  for (const [name, value] of trailers) text += `${name.toLowerCase()}: ${value}\r\n`;
  return Buffer.from(text, 'latin1');
}

/** `bytes` as the body encoding wants it; text frames are base64'd one by one, padded, which PROTOCOL-WEB.md allows. */
export function encodeForBody(bytes: Buffer, encoding: GrpcWebEncoding): Buffer | string {
  return encoding === 'text' ? bytes.toString('base64') : bytes;
}

/**
 * grpc-message's percent-encoding (PROTOCOL-HTTP2.md): bytes outside
 * printable ASCII, and `%` itself, as %XX of their UTF-8.
 */
export function percentEncode(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * The milliseconds of a `grpc-timeout` header (at most 8 digits and a unit,
 * PROTOCOL-HTTP2.md); undefined when absent; throws {@link FramingError}
 * when malformed.
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value.trim());
  if (!match) throw new FramingError('grpc-timeout must be 1 to 8 digits and a unit (H, M, S, m, u or n), for example 500m');
  return Number(match[1]) * TIMEOUT_UNIT_MS[match[2]!]!;
}
