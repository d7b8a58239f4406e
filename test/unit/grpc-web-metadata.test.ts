import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { FramingError } from '../../src/http/grpc-web-framing.js';
import { requestMetadata, responseHeaders, trailerEntries } from '../../src/http/grpc-web-metadata.js';

describe('requestMetadata', () => {
  it('forwards authorization and x-request-id only', () => {
    const metadata = requestMetadata({
      authorization: 'Bearer rg_abc',
      'x-request-id': 'req-1',
      cookie: 'session=secret',
      'x-forwarded-for': '10.0.0.1',
      'grpc-timeout': '1S',
      'content-type': 'application/grpc-web+proto',
      host: 'roomgate.example.com',
    });
    expect(metadata.toJSON()).toEqual({ authorization: ['Bearer rg_abc'], 'x-request-id': ['req-1'] });
    expect(requestMetadata({}).toJSON()).toEqual({});
  });

  it('refuses a header value gRPC metadata cannot carry, naming the header', () => {
    expect(() => requestMetadata({ authorization: 'Bearer caf\u00e9' })).toThrow(FramingError);
    expect(() => requestMetadata({ 'x-request-id': 'a\u0007b' })).toThrow(/x-request-id header/);
  });
});

describe('responseHeaders and trailerEntries', () => {
  it('copies custom metadata, base64s binary values, and leaves out HTTP and gRPC framing headers', () => {
    const md = new Metadata();
    md.set('x-request-id', 'req-1');
    md.set('roomgate-start-cursor', 'c1');
    md.set('trace-bin', Buffer.from([0xff, 0x00]));
    md.set('content-type', 'application/grpc');
    md.set('grpc-accept-encoding', 'gzip');
    md.set('date', 'yesterday');
    expect(responseHeaders(md)).toEqual({ 'x-request-id': ['req-1'], 'roomgate-start-cursor': ['c1'], 'trace-bin': ['/wA='] });
  });

  it('puts grpc-status first, percent-encodes grpc-message, and keeps grpc-status-details-bin in base64', () => {
    const md = new Metadata();
    md.set('roomgate-error-code', 'ERR_ROOM_NOT_FOUND');
    md.set('grpc-status-details-bin', Buffer.from([1, 2, 3]));
    expect(trailerEntries({ code: 5, details: 'room 100% gone\n', metadata: md })).toEqual([
      ['grpc-status', '5'],
      ['grpc-message', 'room 100%25 gone%0A'],
      ['roomgate-error-code', 'ERR_ROOM_NOT_FOUND'],
      ['grpc-status-details-bin', 'AQID'],
    ]);
    expect(trailerEntries({ code: 0, details: '', metadata: new Metadata() })).toEqual([['grpc-status', '0']]);
  });
});
