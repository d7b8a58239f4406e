import type { IncomingMessage, ServerResponse } from 'node:http';
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { DomainError } from '../domain/errors.js';
import type { ServedMethod } from '../transport/server.js';
import { ERROR_CODE_TRAILER, toServiceError } from '../transport/status.js';
import { clientKey, requestClientAddress } from './client-address.js';
import type { CorsPolicy } from './cors.js';
import type { GrpcWebBridge } from './grpc-web-bridge.js';
import {
  decodeTextBody,
  FRAME_HEADER_BYTES,
  FramingError,
  grpcWebEncoding,
  MessageTooLargeError,
  parseGrpcTimeout,
  parseRequestMessage,
  type GrpcWebEncoding,
} from './grpc-web-framing.js';
import { requestMetadata } from './grpc-web-metadata.js';
import { GrpcWebReply, type ReplyStatus } from './grpc-web-reply.js';
import type { StreamLimit, StreamSlots } from './grpc-web-stream-slots.js';
import { sendText } from './responses.js';
import type { HttpHandler } from './router.js';
import type { TrustedProxies } from './trusted-proxies.js';

/** What a gRPC-Web route needs. */
export interface GrpcWebRouteDeps {
  bridge: GrpcWebBridge;
  cors: CorsPolicy;
  /** The gRPC server's request size limit (ROOMGATE_GRPC_MAX_MESSAGE_BYTES), applied before the body is buffered. */
  maxMessageBytes: number;
  /** Server streams open per client address. */
  streams: StreamSlots;
  logger: Logger;
  /** Proxies whose X-Forwarded-For names the browser (ROOMGATE_TRUSTED_PROXIES). */
  proxies: TrustedProxies;
}

/** The POST handler of one method: decode, check, bridge, encode. */
export function grpcWebHandler(method: ServedMethod, deps: GrpcWebRouteDeps): HttpHandler {
  return async (req, res) => {
    const cors = deps.cors.responseHeaders(req.headers.origin);
    const encoding = grpcWebEncoding(req.headers['content-type']);
    if (!encoding) {
      return sendText(res, 415, 'unsupported media type: send application/grpc-web+proto or application/grpc-web-text+proto', {
        ...cors,
        connection: 'close',
      });
    }
    const reply = new GrpcWebReply(res, encoding, cors);
    const grpcEncoding = req.headers['grpc-encoding'];
    if (grpcEncoding !== undefined && grpcEncoding !== 'identity') {
      return reply.end(bare(status.UNIMPLEMENTED, 'message compression (grpc-encoding) is not supported; send uncompressed messages'), true);
    }
    const body = await readBody(req, bodyLimit(encoding, deps.maxMessageBytes));
    if (body === 'aborted') return;
    if (body === 'too-large') return reply.end(tooLarge(new MessageTooLargeError(undefined, deps.maxMessageBytes)), true);
    let message: Buffer;
    let timeoutMs: number | undefined;
    let metadata: Metadata;
    try {
      message = parseRequestMessage(encoding === 'text' ? decodeTextBody(body) : body, deps.maxMessageBytes);
      timeoutMs = parseGrpcTimeout(single(req.headers['grpc-timeout']));
      metadata = requestMetadata(req.headers);
    } catch (err) {
      if (err instanceof MessageTooLargeError) return reply.end(tooLarge(err));
      if (err instanceof FramingError) return reply.end(invalid(err.message));
      throw err;
    }
    const clientAddress = requestClientAddress(req, deps.proxies);
    const release = method.responseStream ? deps.streams.take(clientKey(clientAddress)) : () => undefined;
    if (typeof release === 'string') return reply.end(streamLimit(deps.streams, release));
    bridge(method, deps, { res, reply, message, metadata, timeoutMs, release, clientAddress });
  };
}

interface Exchange {
  res: ServerResponse;
  reply: GrpcWebReply;
  message: Buffer;
  metadata: Metadata;
  timeoutMs: number | undefined;
  release: () => void;
  clientAddress: string | undefined;
}

/** Makes the call and copies it onto the response as it comes, at the pace the client reads. */
function bridge(method: ServedMethod, deps: GrpcWebRouteDeps, x: Exchange): void {
  const deadline = x.timeoutMs === undefined ? undefined : new Date(Date.now() + x.timeoutMs);
  let call;
  try {
    call = deps.bridge.call(method, x.message, x.metadata, deadline, x.clientAddress);
  } catch (err) {
    x.release();
    deps.logger.warn({ err, method: method.path }, 'gRPC-Web bridge refused a call');
    return x.reply.end(bare(status.UNAVAILABLE, 'service unavailable'));
  }
  call.on('metadata', (headers: Metadata) => x.reply.headers(headers));
  call.on('data', (bytes: Buffer) => {
    if (x.reply.message(bytes)) return;
    // Stop reading from the server until the client has taken what is queued; the server's own backlog limit then applies.
    call.pause();
    x.res.once('drain', () => call.resume());
  });
  call.on('status', (s: StatusObject) => {
    x.release();
    if (s.code === status.UNAVAILABLE && !s.metadata.get(ERROR_CODE_TRAILER).length) {
      deps.logger.warn({ method: method.path, details: s.details }, 'gRPC-Web bridge: gRPC server unavailable');
    }
    x.reply.end(publicStatus(s));
  });
  // The browser went away (closed the tab, aborted the fetch): end the call so the server frees what it holds.
  x.res.once('close', () => {
    if (!x.res.writableFinished) call.cancel();
  });
  // It may have gone before the listener was there.
  if (x.res.destroyed || !x.res.socket || x.res.socket.destroyed) call.cancel();
}

/**
 * The status as the browser gets it. A status the server's handlers set
 * (with roomgate-error-code) passes unchanged; one that grpc-js made up on
 * the bridge's side (deadline, connection, cancel) gets a fixed message,
 * since grpc-js's own names the internal socket.
 */
function publicStatus(s: StatusObject): ReplyStatus {
  if (s.metadata.get(ERROR_CODE_TRAILER).length > 0) return s;
  const fixed: Partial<Record<status, string>> = {
    [status.DEADLINE_EXCEEDED]: 'deadline exceeded',
    [status.UNAVAILABLE]: 'service unavailable',
    [status.CANCELLED]: 'call cancelled',
  };
  const details = fixed[s.code];
  return details === undefined ? s : { code: s.code, details, metadata: s.metadata };
}

function bare(code: status, details: string): ReplyStatus {
  return { code, details, metadata: new Metadata() };
}

function invalid(message: string): ReplyStatus {
  return asReply(new DomainError('ERR_INVALID_ARGUMENT', `gRPC-Web request: ${message}`));
}

function tooLarge(err: MessageTooLargeError): ReplyStatus {
  // As grpc-js answers a native call over the limit: RESOURCE_EXHAUSTED with no domain reason.
  return bare(status.RESOURCE_EXHAUSTED, err.message);
}

function streamLimit(streams: StreamSlots, limit: StreamLimit): ReplyStatus {
  const message =
    limit === 'per_address'
      ? `this client address already has ${streams.maxPerKey} gRPC-Web streams open on this server, the most allowed (ROOMGATE_HTTP_GRPC_WEB_MAX_STREAMS_PER_ADDRESS)`
      : `this server already has ${streams.maxTotal} gRPC-Web streams open, the most its gRPC connection carries (ROOMGATE_GRPC_MAX_CONCURRENT_STREAMS)`;
  const max = limit === 'per_address' ? streams.maxPerKey : streams.maxTotal;
  return asReply(new DomainError('ERR_WATCH_LIMIT_EXCEEDED', message, { metadata: { limit, max: String(max) } }));
}

/** A domain error through the one status table (src/transport/status.ts). */
function asReply(err: DomainError): ReplyStatus {
  const sent = toServiceError(err);
  return { code: sent.code!, details: sent.details!, metadata: sent.metadata! };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The most body bytes read: one frame of the largest message, in base64 for text (with room for chunk padding). */
function bodyLimit(encoding: GrpcWebEncoding, maxMessageBytes: number): number {
  const binary = FRAME_HEADER_BYTES + maxMessageBytes;
  return encoding === 'binary' ? binary : Math.ceil(binary / 3) * 4 + 1024;
}

/**
 * Reads the body up to `limit` bytes. Past it, reading stops and the answer
 * closes the connection (the rest of the body is never read), as the
 * router does for a body where none is accepted.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return resolve('too-large');
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      req.pause();
      resolve('too-large');
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', () => resolve('aborted'));
    req.once('close', () => {
      if (!req.complete) resolve('aborted');
    });
  });
}
