import { describe, expect, it } from 'vitest';
import {
  decodeTextBody,
  frame,
  FramingError,
  grpcWebEncoding,
  MessageTooLargeError,
  parseGrpcTimeout,
  parseRequestMessage,
  percentEncode,
  trailerBlock,
} from '../../src/http/grpc-web-framing.js';

const message = (bytes: number[]) => frame(0, Buffer.from(bytes));

describe('grpcWebEncoding', () => {
  it.each([
    ['application/grpc-web', 'binary'],
    ['application/grpc-web+proto', 'binary'],
    ['Application/GRPC-Web+Proto; charset=utf-8', 'binary'],
    ['application/grpc-web-text', 'text'],
    ['application/grpc-web-text+proto', 'text'],
  ])('reads %s as %s', (type, encoding) => {
    expect(grpcWebEncoding(type)).toBe(encoding);
  });

  it.each([undefined, '', 'application/grpc', 'application/grpc-web+json', 'application/grpc-web-text+json', 'application/grpc-webx', 'text/plain'])(
    'refuses %s',
    (type) => {
      expect(grpcWebEncoding(type)).toBeUndefined();
    },
  );
});

describe('parseRequestMessage', () => {
  it('returns the message of exactly one data frame, empty messages and messages at the limit included', () => {
    expect(parseRequestMessage(message([]), 10)).toEqual(Buffer.alloc(0));
    expect(parseRequestMessage(message([1, 2, 3]), 3)).toEqual(Buffer.from([1, 2, 3]));
  });

  it.each([
    ['an empty body', Buffer.alloc(0), 'the request has no message frame'],
    ['a cut header', Buffer.from([0, 0, 0, 0]), 'the request body ends inside a frame header'],
    ['a cut message', Buffer.from([0, 0, 0, 0, 4, 1]), 'the request body ends inside its message frame (1 of 4 bytes)'],
    ['bytes after the frame', Buffer.concat([message([1]), Buffer.from([0])]), /more than one message frame/],
    ['two frames', Buffer.concat([message([1]), message([2])]), /more than one message frame/],
    ['a trailer frame', frame(0x80, Buffer.from('grpc-status: 0\r\n')), 'a request may not carry a trailer frame'],
    ['a compressed frame', frame(1, Buffer.from([1])), /compressed or flagged/],
    ['another flag', frame(0x02, Buffer.from([1])), /compressed or flagged/],
  ])('refuses %s', (_what, body, expected) => {
    expect(() => parseRequestMessage(body, 100)).toThrow(FramingError);
    expect(() => parseRequestMessage(body, 100)).toThrow(expected);
  });

  it('refuses a frame that declares more than the limit as too large, before its bytes have come', () => {
    const header = Buffer.from([0, 0xff, 0xff, 0xff, 0xff]);
    expect(() => parseRequestMessage(header, 100)).toThrow(MessageTooLargeError);
    expect(() => parseRequestMessage(message([1, 2, 3, 4]), 3)).toThrow('larger than the limit of 3 bytes (4)');
  });
});

describe('decodeTextBody', () => {
  const bytes = Buffer.from([0, 0, 0, 0, 2, 0xfa, 0xfb]);

  it('decodes one chunk, padded chunks one after another, and ignores line breaks', () => {
    expect(decodeTextBody(Buffer.from(bytes.toString('base64')))).toEqual(bytes);
    const chunked = bytes.subarray(0, 1).toString('base64') + bytes.subarray(1, 3).toString('base64') + bytes.subarray(3).toString('base64');
    expect(chunked).toMatch(/==.*=/);
    expect(decodeTextBody(Buffer.from(chunked))).toEqual(bytes);
    expect(decodeTextBody(Buffer.from(`${bytes.toString('base64').slice(0, 4)}\r\n${bytes.toString('base64').slice(4)}`))).toEqual(bytes);
    expect(decodeTextBody(Buffer.alloc(0))).toEqual(Buffer.alloc(0));
  });

  it.each([
    ['characters outside base64', 'AAAA!AAA', /not base64/],
    ['base64url', 'AA-_', /not base64/],
    ['a chunk not a multiple of 4', 'AAAAA', /chunks of 4/],
    ['padding inside a chunk', 'AA=A', /chunks of 4/],
    ['three padding characters', 'A===', /chunks of 4/],
  ])('refuses %s', (_what, text, expected) => {
    expect(() => decodeTextBody(Buffer.from(text))).toThrow(FramingError);
    expect(() => decodeTextBody(Buffer.from(text))).toThrow(expected);
  });
});

describe('frame and trailerBlock', () => {
  it('frames a payload with its flag and big-endian length', () => {
    expect(frame(0x80, Buffer.from('ab'))).toEqual(Buffer.from([0x80, 0, 0, 0, 2, 0x61, 0x62]));
    expect(frame(0, Buffer.alloc(300)).subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 1, 44]));
  });

  it('writes trailers as lower-case "name: value" lines with CRLF', () => {
    expect(trailerBlock([['Grpc-Status', '0'], ['roomgate-error-code', 'ERR_X']]).toString()).toBe('grpc-status: 0\r\nroomgate-error-code: ERR_X\r\n');
  });
});

describe('percentEncode', () => {
  it('keeps printable ASCII but %, and encodes the rest as UTF-8 bytes, which decodeURIComponent reverses', () => {
    expect(percentEncode('room_id: must be a UUID')).toBe('room_id: must be a UUID');
    expect(percentEncode('100% done')).toBe('100%25 done');
    expect(percentEncode('café\nnext')).toBe('caf%C3%A9%0Anext');
    for (const text of ['plain', '50% off', 'ünïcødé 🎉', 'tab\there', '%41']) expect(decodeURIComponent(percentEncode(text))).toBe(text);
  });
});

describe('parseGrpcTimeout', () => {
  it.each([
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['3S', 3_000],
    ['250m', 250],
    ['1500u', 1.5],
    ['99999999n', 99.999999],
    ['0m', 0],
  ])('reads %s as %d ms', (value, ms) => {
    expect(parseGrpcTimeout(value)).toBeCloseTo(ms, 9);
  });

  it('is undefined when absent', () => {
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
  });

  it.each(['', '100', 'm', '123456789m', '1.5S', '-1S', '10 m', '10ms', '10s', '1D'])('refuses %j', (value) => {
    expect(() => parseGrpcTimeout(value)).toThrow(FramingError);
  });
});
