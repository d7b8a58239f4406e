// Seeded inputs for the fuzz test (test/integration/fuzz.test.ts): a small
// PRNG, valid requests built from the descriptor set, and mutators that turn
// them into hostile protobuf bytes, plus mutators of bearer tokens. Nothing
// here does I/O or keeps state between calls, so it needs no isolation: every
// case draws from its own generator, derived from the run's seed and the
// case's index, and comes out the same for the same seed whatever the server
// answered before it.
import { create, createFileRegistry, fromBinary, ScalarType, toBinary, type DescField, type DescMessage, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { FILE_DESCRIPTOR_SET_BASE64 } from '../../src/gen/descriptor-set.js';
import { b64url, segment, signSegments, withManagementChecksum } from './hostile-tokens.js';

/** mulberry32: 32 bits of state, fast, and the same sequence on every platform. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** The generator of case `index` of run `seed`, independent of every other case. */
export function caseRng(seed: number, index: number): Rng {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return new Rng(Math.imul(h ^ (h >>> 15), 0x846ca68b) ^ (h >>> 16));
}

/** Every message and service of proto/, from the descriptor set the server embeds. */
export function descriptorRegistry(): FileRegistry {
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64')));
}

// ---- protobuf wire format, written by hand so that anything can be written

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const I32 = 5;

/** A varint of `value` taken modulo 2^64, as protobuf writes negative int32s (10 bytes). */
function varint(value: bigint | number): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  for (; v >= 0x80n; v >>= 7n) out.push(Number(v & 0x7fn) | 0x80);
  out.push(Number(v));
  return Buffer.from(out);
}

/** A field key; field numbers past 2^29 - 1 make keys no decoder accepts, which is the point. */
const key = (field: number, wireType: number) => varint((BigInt(field) << 3n) | BigInt(wireType));
const len = (field: number, payload: Uint8Array) => Buffer.concat([key(field, LEN), varint(payload.length), payload]);

/** A request field as the wire sees it. */
interface Shape {
  number: number;
  kind: 'string' | 'bytes' | 'varint' | 'enum' | 'message' | 'i32' | 'i64';
  repeated: boolean;
  message?: DescMessage;
  enumValues: number[];
}

function scalarKind(scalar: ScalarType): Shape['kind'] {
  if (scalar === ScalarType.STRING) return 'string';
  if (scalar === ScalarType.BYTES) return 'bytes';
  if ([ScalarType.FIXED32, ScalarType.SFIXED32, ScalarType.FLOAT].includes(scalar)) return 'i32';
  if ([ScalarType.FIXED64, ScalarType.SFIXED64, ScalarType.DOUBLE].includes(scalar)) return 'i64';
  return 'varint';
}

function shapeOf(field: DescField): Shape {
  const base = { number: field.number, repeated: field.fieldKind === 'list' || field.fieldKind === 'map', enumValues: [] as number[] };
  if (field.fieldKind === 'map') return { ...base, kind: 'message' };
  if (field.enum) return { ...base, kind: 'enum', enumValues: field.enum.values.map((v) => v.number) };
  if (field.message) return { ...base, kind: 'message', message: field.message };
  return { ...base, kind: scalarKind(field.scalar!) };
}

// ---- valid requests

/** Values for request fields by their TypeScript name (roomId, token, ...); a value of the wrong type is ignored. */
export type FieldValues = Record<string, (rng: Rng) => unknown>;

const is64Bit = (scalar: ScalarType) =>
  [ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64].includes(scalar);

function defaultScalar(scalar: ScalarType, rng: Rng): unknown {
  const kind = scalarKind(scalar);
  if (kind === 'string') return rng.pick(['', 'fuzz', `fuzz-${rng.int(1000)}`]);
  if (kind === 'bytes') return rng.bytes(rng.int(16));
  if (scalar === ScalarType.BOOL) return rng.chance(0.5);
  const n = rng.pick([0, 1, 5, 10, 60, 600, 3600]);
  return is64Bit(scalar) ? BigInt(n) : n;
}

function fits(value: unknown, scalar: ScalarType): boolean {
  if (scalar === ScalarType.STRING) return typeof value === 'string';
  if (scalar === ScalarType.BOOL) return typeof value === 'boolean';
  if (scalar === ScalarType.BYTES) return value instanceof Uint8Array;
  return typeof value === (is64Bit(scalar) ? 'bigint' : 'number');
}

function fieldValue(field: DescField, values: FieldValues, rng: Rng, depth: number): unknown {
  if (field.fieldKind === 'map') return undefined;
  if (field.enum) {
    const valid = field.enum.values.map((v) => v.number).filter((n) => n !== 0);
    const one = () => rng.pick(valid.length ? valid : [0]);
    return field.fieldKind === 'list' ? [one()] : one();
  }
  if (field.message) {
    if (field.message.typeName === 'google.protobuf.Timestamp') {
      return { seconds: BigInt(Math.floor(Date.now() / 1000) + rng.between(60, 86_400)), nanos: 0 };
    }
    const one = () => (depth < 3 ? initOf(field.message!, values, rng, depth + 1) : {});
    return field.fieldKind === 'list' ? [one()] : one();
  }
  const given = values[field.localName]?.(rng);
  const value = given !== undefined && fits(given, field.scalar!) ? given : defaultScalar(field.scalar!, rng);
  return field.fieldKind === 'list' ? [value] : value;
}

function initOf(desc: DescMessage, values: FieldValues, rng: Rng, depth: number): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const field of desc.fields) {
    // Some fields are left unset, as callers leave optional fields out.
    if (rng.chance(0.15)) continue;
    const value = fieldValue(field, values, rng, depth);
    if (value !== undefined) init[field.localName] = value;
  }
  return init;
}

/** A well-formed `desc` with fields from `values` (or plausible defaults), most of them set. */
export function validRequest(desc: DescMessage, values: FieldValues, rng: Rng): Buffer {
  return Buffer.from(toBinary(desc, create(desc, initOf(desc, values, rng, 0) as never)));
}

// ---- protobuf mutations

/** A mutation of a request: its bytes and what was done, for the failure report. */
export interface Mutated {
  bytes: Buffer;
  label: string;
}

/** What a mutator sees: the bytes so far, the request type, and another valid request of any type. */
interface MutationInput {
  bytes: Buffer;
  desc: DescMessage;
  rng: Rng;
  otherRequest: () => Buffer;
}

const HUGE_VALUES = [2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, -1n, -(2n ** 31n)];
/** Varints no decoder should accept: 11 bytes, an unterminated run, a last byte missing. */
const BROKEN_VARINTS = [Buffer.alloc(11, 0xff), Buffer.from([...Buffer.alloc(10, 0x80), 0x01]), Buffer.from([0xff, 0xff]), Buffer.from([0x80])];
const FIELD_NUMBERS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 100, 18_999, 19_000, 19_999, 2 ** 29 - 1, 2 ** 29, 2 ** 32 - 1];
/** Invalid UTF-8: a lone continuation, overlong forms, a surrogate, past U+10FFFF, a cut sequence, 0xFF. */
const BAD_UTF8 = [[0x80], [0xc0, 0x80], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff], [0xfe, 0xff]];
const EDGE_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', '\t\r\n', '../../etc/passwd', "' OR 1=1 --", '%00', '${jndi:x}', 'NaN', '-1', '1e309', 'null', '{}', '[]',
  '{"a":1}', '{"a":1} x', '"x"', '\u202e\u0644\u0639', '\ufeff{}', '😀'.repeat(40), 'é'.repeat(65), '00000000-0000-0000-0000-000000000000',
  'A0A0A0A0-A0A0-A0A0-A0A0-A0A0A0A0A0A0', '{00000000-0000-0000-0000-000000000000}', 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(128),
  'x'.repeat(129), 'x'.repeat(4096), 'x'.repeat(4097), 'x'.repeat(70_000), `${'['.repeat(5000)}${']'.repeat(5000)}`, `{"a":${'['.repeat(20_000)}`,
];
const INT_EDGES = [0n, 1n, -1n, 59n, 60n, 86_400n, 86_401n, 2_592_001n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 53n, 2n ** 63n - 1n];

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const append = (bytes: Buffer, ...more: Buffer[]) => Buffer.concat([bytes, ...more]);
const at = (bytes: Buffer, rng: Rng) => rng.int(bytes.length + 1);

/** A field of the request (known, or a random number), for the field-level mutators. */
function pickShape(desc: DescMessage, rng: Rng, kinds?: Shape['kind'][]): Shape {
  const shapes = desc.fields.map(shapeOf).filter((s) => !kinds || kinds.includes(s.kind));
  return shapes.length && rng.chance(0.9) ? rng.pick(shapes) : { number: rng.pick(FIELD_NUMBERS), kind: 'varint', repeated: false, enumValues: [] };
}

/** A plausible payload for `wireType`, sometimes a wrong one. */
function payloadFor(wireType: number, rng: Rng): Buffer {
  switch (wireType) {
    case VARINT:
      return varint(rng.pick(HUGE_VALUES));
    case I64:
      return rng.bytes(rng.pick([8, 8, 3]));
    case LEN:
      return Buffer.concat([varint(rng.pick([0, 1, 5])), rng.bytes(5)]);
    case I32:
      return rng.bytes(rng.pick([4, 4, 2]));
    case START_GROUP:
      return rng.chance(0.5) ? key(rng.pick(FIELD_NUMBERS), END_GROUP) : rng.bytes(rng.int(8));
    default:
      return rng.bytes(rng.int(4));
  }
}

/** Groups opened `depth` deep, closed or not: a recursive skipper's stack. */
function deepGroups(rng: Rng): Buffer {
  const depth = rng.pick([100, 1_000, 20_000]);
  const field = rng.between(1, 20);
  const open = Buffer.concat(Array.from({ length: depth }, () => key(field, START_GROUP)));
  return rng.chance(0.5) ? open : Buffer.concat([open, ...Array.from({ length: depth }, () => key(field, END_GROUP))]);
}

type Mutator = (input: MutationInput) => Mutated;

const MUTATORS: Mutator[] = [
  ({ bytes, rng }) => {
    const out = Buffer.from(bytes.length ? bytes : [0]);
    const n = rng.between(1, 8);
    for (let i = 0; i < n; i++) out[rng.int(out.length)]! ^= 1 << rng.int(8);
    return { bytes: out, label: `flip ${n} bits` };
  },
  ({ bytes, rng }) => {
    const i = at(bytes, rng);
    const inserted = rng.chance(0.5) ? rng.bytes(rng.between(1, 16)) : Buffer.alloc(rng.between(1, 12), rng.pick([0x00, 0x80, 0xff, 0x0a]));
    return { bytes: Buffer.concat([bytes.subarray(0, i), inserted, bytes.subarray(i)]), label: `insert ${inserted.length} bytes at ${i}` };
  },
  ({ bytes, rng }) => {
    const i = at(bytes, rng);
    const n = rng.between(1, 8);
    return { bytes: Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + n)]), label: `delete ${n} bytes at ${i}` };
  },
  ({ bytes, rng }) => {
    const n = rng.int(bytes.length);
    return { bytes: bytes.subarray(0, n), label: `truncate to ${n} bytes` };
  },
  ({ bytes, rng }) => {
    const from = rng.int(bytes.length);
    const slice = bytes.subarray(from, from + rng.between(1, 32));
    const i = at(bytes, rng);
    return { bytes: Buffer.concat([bytes.subarray(0, i), slice, bytes.subarray(i)]), label: `copy ${slice.length} bytes from ${from} to ${i}` };
  },
  ({ bytes, rng }) => {
    const field = rng.pick(FIELD_NUMBERS);
    const wireType = rng.int(8);
    return { bytes: append(bytes, key(field, wireType), payloadFor(wireType, rng)), label: `unknown field ${field} wire type ${wireType}` };
  },
  ({ bytes, desc, rng }) => {
    const shape = pickShape(desc, rng);
    const broken = rng.chance(0.3);
    const value = broken ? rng.pick(BROKEN_VARINTS) : varint(rng.pick(HUGE_VALUES));
    return { bytes: append(bytes, key(shape.number, VARINT), value), label: `${broken ? 'broken' : 'huge'} varint in field ${shape.number}` };
  },
  ({ bytes, desc, rng }) => {
    const shape = pickShape(desc, rng, ['string', 'bytes', 'message']);
    const claimed = rng.chance(0.5) ? BigInt(rng.between(1, 1000) + 4) : rng.pick([2n ** 31n - 1n, 2n ** 32n + 1n, 2n ** 63n, 2n ** 64n - 1n]);
    return { bytes: append(bytes, key(shape.number, LEN), varint(claimed), rng.bytes(4)), label: `field ${shape.number} claims ${claimed} bytes, has 4` };
  },
  ({ bytes, desc, rng, otherRequest }) => {
    const shape = pickShape(desc, rng, ['message']);
    const how = rng.int(4);
    const payload =
      how === 0
        ? rng.bytes(rng.between(1, 64))
        : how === 1
          ? mutateRequest(shape.message ? validRequest(shape.message, {}, rng) : otherRequest(), shape.message ?? desc, rng, otherRequest).bytes
          : how === 2
            ? deepGroups(rng)
            : Array.from({ length: rng.pick([10, 200, 2000]) }).reduce<Buffer>((inner) => len(shape.number, inner), Buffer.alloc(0));
    return { bytes: append(bytes, len(shape.number, payload)), label: `nested ${['garbage', 'mutated message', 'deep groups', 'deep nesting'][how]} in field ${shape.number}` };
  },
  ({ bytes, desc, rng }) => {
    const shape = pickShape(desc, rng);
    const n = rng.between(2, 3);
    const copies = Array.from({ length: n }, () =>
      shape.kind === 'string' || shape.kind === 'bytes' || shape.kind === 'message'
        ? len(shape.number, rng.chance(0.5) ? utf8(rng.pick(EDGE_STRINGS.slice(0, 20))) : rng.bytes(rng.int(8)))
        : Buffer.concat([key(shape.number, VARINT), varint(rng.pick(INT_EDGES))]),
    );
    return { bytes: append(bytes, ...copies), label: `field ${shape.number} ${n} more times` };
  },
  ({ bytes, desc, rng }) => {
    const shape = pickShape(desc, rng, ['string']);
    const bad = Buffer.from(rng.pick(BAD_UTF8));
    const payload = Buffer.concat([utf8(rng.pick(['', 'a', 'room-'])), bad, utf8(rng.pick(['', 'b']))]);
    return { bytes: append(bytes, len(shape.number, payload)), label: `invalid UTF-8 ${bad.toString('hex')} in field ${shape.number}` };
  },
  ({ bytes, desc, rng }) => {
    const shape = pickShape(desc, rng, ['enum']);
    const values = Array.from({ length: shape.repeated ? rng.between(1, 4) : 1 }, () =>
      rng.pick([-1n, 99n, BigInt(Math.max(0, ...shape.enumValues) + 1), 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n]),
    );
    const packed = shape.repeated && rng.chance(0.5);
    const encoded = packed ? len(shape.number, Buffer.concat(values.map(varint))) : Buffer.concat(values.map((v) => append(key(shape.number, VARINT), varint(v))));
    return { bytes: append(bytes, encoded), label: `enum values ${values.join(',')} in field ${shape.number}${packed ? ' (packed)' : ''}` };
  },
  ({ bytes, desc, rng }) => {
    const shape = pickShape(desc, rng);
    const expected = shape.kind === 'varint' || shape.kind === 'enum' ? VARINT : shape.kind === 'i32' ? I32 : shape.kind === 'i64' ? I64 : LEN;
    const wireType = rng.pick([VARINT, I64, LEN, START_GROUP, END_GROUP, I32, 6, 7].filter((w) => w !== expected));
    return { bytes: append(bytes, key(shape.number, wireType), payloadFor(wireType, rng)), label: `field ${shape.number} as wire type ${wireType}` };
  },
  ({ bytes, desc, rng }) => {
    const shape = pickShape(desc, rng, ['string']);
    const value = rng.pick(EDGE_STRINGS);
    return { bytes: append(bytes, len(shape.number, utf8(value))), label: `field ${shape.number} = ${JSON.stringify(value.slice(0, 24))} (${value.length} chars)` };
  },
  ({ bytes, desc, rng }) => {
    const shape = pickShape(desc, rng, ['varint', 'enum']);
    const value = rng.pick(INT_EDGES);
    return { bytes: append(bytes, key(shape.number, VARINT), varint(value)), label: `field ${shape.number} = ${value}` };
  },
  ({ bytes, rng, otherRequest }) => {
    const how = rng.int(4);
    const body = [Buffer.alloc(0), rng.bytes(rng.between(1, 256)), otherRequest(), Buffer.concat([bytes, bytes])][how]!;
    return { bytes: body, label: ['empty body', 'random body', "another method's request", 'the request twice'][how]! };
  },
];

/**
 * `valid` (a `desc`) changed by one to three mutations: bit flips, inserted,
 * deleted, copied and truncated bytes, unknown field numbers and wire types,
 * huge and broken varints, lengths past the end, nested garbage and deep
 * nesting, duplicated fields, invalid UTF-8, edge strings and integers,
 * out-of-range enum values and known fields under the wrong wire type.
 */
export function mutateRequest(valid: Buffer, desc: DescMessage, rng: Rng, otherRequest: () => Buffer): Mutated {
  let bytes = valid;
  const labels: string[] = [];
  for (let n = rng.pick([1, 1, 1, 2, 3]); n > 0; n--) {
    const done = rng.pick(MUTATORS)({ bytes, desc, rng, otherRequest });
    bytes = done.bytes;
    labels.push(done.label);
  }
  return { bytes, label: labels.join('; ') };
}

// ---- token mutations

/** A mutated `authorization` value and what was done to it. */
export interface MutatedAuthorization {
  authorization: string;
  label: string;
}

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const UNICODE = ['é', 'ı', 'Ａ', '\u200b', '\u202e', '😀', '\u00a0', 'ß', 'İ'];
const ALGS = ['none', 'None', 'HS256', 'HS512', 'RS256', 'ES256', 'Ed25519', 'eddsa', '', null, 1];

const decodeSegment = (s: string): Record<string, unknown> | undefined => {
  try {
    const value = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

type TokenMutator = (token: string, rng: Rng) => [token: string, label: string] | undefined;

const TOKEN_MUTATORS: TokenMutator[] = [
  (t, rng) => {
    const n = rng.pick([1, 1, 2, 5]);
    let out = t;
    for (let k = 0; k < n; k++) {
      const i = rng.int(out.length);
      out = out.slice(0, i) + rng.pick([...TOKEN_ALPHABET].filter((c) => c !== out[i])) + out.slice(i + 1);
    }
    return [out, `${n} characters replaced`];
  },
  (t, rng) => {
    const parts = t.split('.');
    if (parts.length !== 3) return [t.slice(t.length >> 1) + t.slice(0, t.length >> 1), 'halves swapped'];
    const order = rng.pick([[1, 0, 2], [0, 2, 1], [2, 1, 0], [0, 1, 1], [0, 0, 2]]);
    return [order.map((i) => parts[i]).join('.'), `segments reordered ${order.join('')}`];
  },
  (t, rng) => {
    const [h, p, s] = t.split('.');
    const header = h !== undefined && decodeSegment(h);
    if (!header || p === undefined) return undefined;
    const alg = rng.pick(ALGS);
    const changed = { ...header, alg, ...(rng.chance(0.5) ? { kid: rng.pick(['other', '', 1, null, 'k'.repeat(300), undefined]) } : {}) };
    if (rng.chance(0.2)) Object.assign(changed, { crit: ['exp'], b64: false });
    const resigned = rng.chance(0.5) && typeof alg === 'string' && alg.startsWith('HS');
    const token = resigned ? signSegments(alg, rng.bytes(32), segment(changed), p) : `${segment(changed)}.${p}.${rng.chance(0.3) ? '' : s}`;
    return [token, `header re-encoded with alg ${JSON.stringify(alg)}${resigned ? ', HMAC-signed' : ''}`];
  },
  (t, rng) => {
    const [h, p, s] = t.split('.');
    const claims = p !== undefined && decodeSegment(p);
    if (!claims || s === undefined) return undefined;
    const claim = rng.pick(Object.keys(claims));
    const value = rng.pick([null, 0, -1, 2 ** 53, '9999999999', 'x', [], {}, true, undefined]);
    return [`${h}.${segment({ ...claims, [claim]: value })}.${s}`, `claim ${claim} = ${JSON.stringify(value)}, signature kept`];
  },
  (t, rng) => {
    const n = rng.int(t.length);
    return [t.slice(0, n), `truncated to ${n}`];
  },
  (t, rng) => {
    const i = rng.int(t.length + 1);
    const dots = rng.pick(['.', '..', '...']);
    return [t.slice(0, i) + dots + t.slice(i), `'${dots}' at ${i}`];
  },
  (t, rng) => {
    const size = rng.pick([8185, 8186, 8192, 8193, 16_384, 60_000]);
    return [(t + 'A'.repeat(size)).slice(0, Math.max(size, t.length)), `padded to ${size} characters`];
  },
  (t, rng) => {
    const i = rng.int(t.length + 1);
    const c = rng.pick(UNICODE);
    return [t.slice(0, i) + c + t.slice(i), `${JSON.stringify(c)} at ${i}`];
  },
  (t, rng) => {
    const parts = t.split('.');
    const i = rng.int(parts.length);
    parts[i] += rng.pick(['=', '==', '===']);
    return [parts.join('.'), `'=' padding on segment ${i}`];
  },
  (t, rng) => {
    const ws = rng.pick([' ', '  ', '\t', '\n', '\r\n', '\u0000', '\u000b']);
    const where = rng.int(3);
    const i = rng.int(t.length + 1);
    return [[ws + t, t + ws, t.slice(0, i) + ws + t.slice(i)][where]!, `${JSON.stringify(ws)} ${['before', 'after', `at ${i}`][where]}`];
  },
  (t, rng) => {
    const how = rng.int(3);
    return [[t.toUpperCase(), t.toLowerCase(), [...t].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('')][how]!, ['upper case', 'lower case', 'case swapped'][how]!];
  },
  (t) => [t.replace(/-/g, '+').replace(/_/g, '/'), 'standard base64 alphabet'],
  (t, rng) => {
    const m = /^(rg_[a-z]+_)([0-9A-Za-z]{43})[0-9A-Za-z]{6}$/.exec(t);
    if (!m) return [b64url(rng.bytes(rng.between(1, 64))), 'random base64url'];
    const prefix = rng.pick([m[1]!, 'rg_live_', 'rg_production_', 'RG_SANDBOX_', 'rg_']);
    const i = rng.int(43);
    const body = rng.chance(0.5) ? m[2]!.slice(0, i) + rng.pick([...TOKEN_ALPHABET.slice(0, 62)]) + m[2]!.slice(i + 1) : m[2]!;
    return [withManagementChecksum(prefix, body), `prefix ${prefix}, body ${body === m[2] ? 'kept' : `changed at ${i}`}, checksum recomputed`];
  },
];

/** How the token is presented: the scheme and what separates it from the token. */
const SCHEMES = ['Bearer ', 'Bearer ', 'Bearer ', 'bearer ', 'BEARER ', 'Bearer  ', 'Bearer', 'Basic ', 'Token ', '', 'Bearer\t', 'Bearer Bearer '];

/**
 * An `authorization` value made from a real token: characters replaced,
 * segments reordered, the JWS header re-encoded (alg none, HS256 with a
 * random key, another kid) or a claim changed under the old signature,
 * truncated, extra dots, padded past the size limit, unicode, '=' padding,
 * whitespace and control characters, case changes, the standard base64
 * alphabet, and management tokens with a recomputed checksum; sometimes
 * under another scheme.
 */
export function mutateAuthorization(token: string, rng: Rng): MutatedAuthorization {
  let out = token;
  let scheme = 'Bearer ';
  const labels: string[] = [];
  // Until the value differs: some mutations give it back unchanged (a checksum recomputed over the same body,
  // a space moved from the token into the scheme).
  for (let n = rng.pick([1, 1, 1, 2]); n > 0 || scheme + out === `Bearer ${token}`; n--) {
    const done = rng.pick(TOKEN_MUTATORS)(out, rng) ?? TOKEN_MUTATORS[0]!(out, rng)!;
    out = done[0];
    labels.push(done[1]);
    if (n === 1 && rng.chance(0.2)) {
      scheme = rng.pick(SCHEMES);
      labels.push(`scheme ${JSON.stringify(scheme)}`);
    }
  }
  return { authorization: scheme + out, label: labels.join('; ') };
}

/** `bytes` as an offset-prefixed hex dump, 32 bytes a line, cut after `max` bytes. */
export function hexDump(bytes: Uint8Array, max = 4096): string {
  const lines: string[] = [];
  for (let i = 0; i < Math.min(bytes.length, max); i += 32) {
    lines.push(`${i.toString(16).padStart(6, '0')}  ${Buffer.from(bytes.subarray(i, Math.min(i + 32, max))).toString('hex')}`);
  }
  if (bytes.length > max) lines.push(`… ${bytes.length - max} more bytes`);
  return lines.join('\n');
}
