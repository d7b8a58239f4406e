import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { grpcWebCors } from '../../src/http/grpc-web-routes.js';
import { FramingError } from '../../src/http/grpc-web-framing.js';
import { requestMetadata, responseHeaders, trailerEntries } from '../../src/http/grpc-web-metadata.js';
import { StreamSlots } from '../../src/http/grpc-web-stream-slots.js';

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

describe('StreamSlots', () => {
  it('admits up to max per key, and a release (even twice) frees exactly one slot', () => {
    const slots = new StreamSlots(2, 100);
    const a = slots.take('1.2.3.4') as () => void;
    const b = slots.take('1.2.3.4') as () => void;
    expect(slots.take('1.2.3.4')).toBe('per_address');
    expect(typeof slots.take('5.6.7.8')).toBe('function');
    a();
    a();
    expect(slots.count('1.2.3.4')).toBe(1);
    expect(typeof slots.take('1.2.3.4')).toBe('function');
    expect(slots.take('1.2.3.4')).toBe('per_address');
    b();
    expect(slots.count('1.2.3.4')).toBe(1);
    expect(slots.size).toBe(2);
  });

  it('admits at most maxTotal over all keys', () => {
    const slots = new StreamSlots(2, 3);
    const releases = ['a', 'b', 'c'].map((key) => slots.take(key) as () => void);
    expect(slots.take('d')).toBe('per_server');
    releases[1]!();
    expect(typeof slots.take('d')).toBe('function');
    expect(slots.take('e')).toBe('per_server');
  });
});

describe('CORS of the gRPC-Web routes', () => {
  it('grants only exact listed origins, with Vary: origin on every answer', () => {
    const cors = grpcWebCors(['https://console.example.com']);
    expect(cors.responseHeaders('https://console.example.com')).toMatchObject({
      'access-control-allow-origin': 'https://console.example.com',
      vary: 'origin',
    });
    for (const origin of [undefined, 'null', 'https://console.example.com.evil.com', 'http://console.example.com', 'https://CONSOLE.example.com']) {
      expect(cors.responseHeaders(origin), String(origin)).toEqual({ vary: 'origin' });
    }
    expect(grpcWebCors([]).allows('https://console.example.com')).toBe(false);
  });

  it('reads ROOMGATE_HTTP_CORS_ORIGINS as a comma-separated list of exact origins, none by default', () => {
    expect(loadConfig({}).http.corsOrigins).toEqual([]);
    expect(loadConfig({ ROOMGATE_HTTP_CORS_ORIGINS: 'https://a.example.com, http://localhost:5173' }).http.corsOrigins).toEqual([
      'https://a.example.com',
      'http://localhost:5173',
    ]);
    for (const bad of ['*', 'https://a.example.com/', 'https://a.example.com/console', 'a.example.com', 'https://A.example.com', 'ftp://a.example.com', 'https://a.example.com:443']) {
      expect(() => loadConfig({ ROOMGATE_HTTP_CORS_ORIGINS: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ ROOMGATE_HTTP_CORS_ORIGINS: bad }), bad).toThrow(/ROOMGATE_HTTP_CORS_ORIGINS/);
    }
  });
});
