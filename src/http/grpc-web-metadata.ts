import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Metadata, type StatusObject } from '@grpc/grpc-js';
import { REQUEST_ID_HEADER } from '../transport/unary.js';
import { FramingError, percentEncode } from './grpc-web-framing.js';

/**
 * The request headers passed on to the gRPC call as metadata: what the
 * server reads (grep `metadata.get` in src/transport), nothing else. Hop
 * headers, cookies and whatever else a browser or proxy adds stay here, so
 * a browser call carries exactly what a native call of the same RPC could.
 */
export const FORWARDED_HEADERS = ['authorization', REQUEST_ID_HEADER] as const;

/** Headers of HTTP itself or of the gRPC framing, never copied from metadata into a response. */
const NOT_METADATA = new Set([
  'connection', 'content-length', 'content-type', 'date', 'host', 'keep-alive', 'proxy-connection',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'cache-control',
]);

function isMetadataKey(key: string): boolean {
  return !key.startsWith(':') && !key.startsWith('grpc-') && !NOT_METADATA.has(key);
}

/**
 * The metadata of a bridged call: the {@link FORWARDED_HEADERS} the request
 * carries. Throws {@link FramingError} for a value gRPC metadata cannot hold
 * (characters outside printable ASCII).
 */
export function requestMetadata(headers: IncomingHttpHeaders): Metadata {
  const metadata = new Metadata();
  for (const name of FORWARDED_HEADERS) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (!/^[\x20-\x7e]*$/.test(v)) throw new FramingError(`the ${name} header has characters that gRPC metadata cannot carry (printable ASCII only)`);
      metadata.add(name, v);
    }
  }
  return metadata;
}

/** The HTTP response headers for the server's initial metadata; binary (-bin) values in base64, as gRPC writes them. */
export function responseHeaders(metadata: Metadata): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [key, values] of entries(metadata)) headers[key] = values;
  return headers;
}

/**
 * The trailer lines of a finished call: grpc-status, grpc-message
 * (percent-encoded) and every trailer the server sent (roomgate-error-code,
 * grpc-status-details-bin in base64, ...), several values of one key joined
 * by commas.
 */
export function trailerEntries(status: Pick<StatusObject, 'code' | 'details' | 'metadata'>): [string, string][] {
  const lines: [string, string][] = [['grpc-status', String(status.code)]];
  if (status.details) lines.push(['grpc-message', percentEncode(status.details)]);
  for (const [key, values] of entries(status.metadata)) lines.push([key, values.join(',')]);
  if (status.metadata.get('grpc-status-details-bin').length > 0) {
    const details = status.metadata.get('grpc-status-details-bin').map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
    lines.push(['grpc-status-details-bin', details.join(',')]);
  }
  return lines;
}

function entries(metadata: Metadata): [string, string[]][] {
  const out: [string, string[]][] = [];
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    if (!isMetadataKey(key) || values.length === 0) continue;
    out.push([key, values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : String(v)))]);
  }
  return out;
}
