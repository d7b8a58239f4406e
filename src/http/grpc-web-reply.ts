import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Metadata, StatusObject } from '@grpc/grpc-js';
import { encodeForBody, frame, responseContentType, TRAILER_FLAG, trailerBlock, type GrpcWebEncoding } from './grpc-web-framing.js';
import { responseHeaders, trailerEntries } from './grpc-web-metadata.js';

/** A status to end a reply with: a gRPC code, its message, and trailers. */
export type ReplyStatus = Pick<StatusObject, 'code' | 'details' | 'metadata'>;

/**
 * Writes one gRPC-Web response on an HTTP response: 200 with the server's
 * initial metadata as headers, a data frame per message, then the trailer
 * frame with the status, and the end of the body. The status always travels
 * in the trailer frame, even when no message came before it, so a client
 * reads every outcome the same way. Writes to a response whose client has
 * gone are dropped.
 */
export class GrpcWebReply {
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly encoding: GrpcWebEncoding,
    private readonly baseHeaders: OutgoingHttpHeaders,
  ) {}

  /** Sends the headers now (once), with `metadata` from the server; a stream's client sees them before its first message. */
  headers(metadata?: Metadata): void {
    if (this.res.headersSent || this.res.destroyed) return;
    this.res.writeHead(200, {
      ...(metadata && responseHeaders(metadata)),
      ...this.baseHeaders,
      'content-type': responseContentType(this.encoding),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    this.res.flushHeaders();
  }

  /** Writes one message frame; false when the client's connection is full and the caller should wait for 'drain'. */
  message(bytes: Buffer): boolean {
    if (this.ended || this.res.destroyed) return true;
    this.headers();
    return this.res.write(encodeForBody(frame(0, bytes), this.encoding));
  }

  /** Writes the trailer frame and ends the body; `closeConnection` when the request body was left unread. */
  end(status: ReplyStatus, closeConnection = false): void {
    if (this.ended) return;
    this.ended = true;
    if (this.res.destroyed) return;
    if (closeConnection && !this.res.headersSent) this.res.setHeader('connection', 'close');
    this.headers();
    this.res.end(encodeForBody(frame(TRAILER_FLAG, trailerBlock(trailerEntries(status))), this.encoding));
  }
}
