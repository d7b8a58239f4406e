// Reads the grpc-status-details-bin trailer the way Go's status.Details(),
// Python's rpc_status.from_call and Java's StatusProto do: a google.rpc.Status
// whose details are Any messages, unpacked here with the generated decoders of
// the vendored google/rpc protos. Pure decoding; nothing to isolate.
import type { Metadata } from '@grpc/grpc-js';
import { expect } from 'vitest';
import { BadRequest, ErrorInfo } from '../../src/gen/google/rpc/error_details.js';
import { Status } from '../../src/gen/google/rpc/status.js';
import { STATUS_DETAILS_TRAILER } from '../../src/transport/status.js';

/** The decoded trailer: the Status itself, its details' type URLs, and the ErrorInfo and BadRequest details. */
export interface StatusDetails {
  status: Status;
  typeUrls: string[];
  errorInfo: ErrorInfo[];
  badRequest: BadRequest[];
}

/** Decodes the one `grpc-status-details-bin` value in `metadata`; fails the test if there is not exactly one. */
export function statusDetailsOf(metadata: Metadata | undefined): StatusDetails {
  const values = metadata?.get(STATUS_DETAILS_TRAILER) ?? [];
  expect(values, `${STATUS_DETAILS_TRAILER} values`).toHaveLength(1);
  expect(Buffer.isBuffer(values[0])).toBe(true);
  const status = Status.decode(values[0] as Buffer);
  const unpack = <T>(typeName: string, type: { decode(bytes: Uint8Array): T }) =>
    status.details.filter((d) => d.typeUrl === `type.googleapis.com/google.rpc.${typeName}`).map((d) => type.decode(d.value));
  return {
    status,
    typeUrls: status.details.map((d) => d.typeUrl),
    errorInfo: unpack('ErrorInfo', ErrorInfo),
    badRequest: unpack('BadRequest', BadRequest),
  };
}
