import { invalidArgument } from './errors.js';
import type { Limits } from './limits.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
// C0/C1 control characters and lone surrogates have no place in names.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Characters that change how a name reads without being seen: format
// characters (Cf: bidi overrides and isolates such as U+202E, zero-width
// space/non-joiner, word joiner, BOM, soft hyphen, tag characters), line and
// paragraph separators, and the blank Hangul fillers. An identity with U+202E
// displays reversed in a console or log, so "alice\u202Egpj.exe" poses as
// someone else. The zero-width joiner is the one exception, and only between
// two emoji, where it builds a sequence such as a family emoji.
const EMOJI_JOINER = /(?<=\p{Extended_Pictographic}[\u{FE0F}\u{1F3FB}-\u{1F3FF}]?)\u200D(?=\p{Extended_Pictographic})/gu;
const INVISIBLE = /[\p{Cf}\p{Zl}\p{Zp}\u115F\u1160\u3164\uFFA0]/u;

/** Checks a resource id is a canonical lowercase UUID; returns it. */
export function requireId(field: string, value: string): string {
  if (value === '') throw invalidArgument(field, 'is required');
  if (!UUID.test(value)) throw invalidArgument(field, 'must be a UUID such as 3f2b8c1e-7a4d-4e3b-9f6a-1c2d3e4f5a6b');
  return value;
}

/** Longest ListRooms name_filter, in characters: a room name's longest. */
export const MAX_NAME_FILTER_LENGTH = 64;

/** Validates ListRooms' name_filter: empty (no filter) or up to 64 characters of text. */
export function nameFilter(value: string): string {
  const length = [...value].length;
  if (length > MAX_NAME_FILTER_LENGTH) {
    throw invalidArgument('name_filter', `is ${length} characters; the limit is ${MAX_NAME_FILTER_LENGTH} (a room name's longest)`);
  }
  // Postgres refuses NUL in text, and no name holds a control character.
  if (CONTROL.test(value) || !value.isWellFormed()) {
    throw invalidArgument('name_filter', 'must not contain control characters or invalid Unicode');
  }
  return value;
}

/** Validates an optional room name; returns null when empty. */
export function optionalRoomName(value: string): string | null {
  if (value === '') return null;
  if (!ROOM_NAME.test(value)) throw invalidArgument('name', 'must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-"');
  return value;
}

/** Validates a JSON text field; empty means "{}". Returns the text unchanged otherwise. */
export function jsonText(field: string, value: string, limits: Limits, maxBytes = limits.maxMetadataBytes): string {
  if (value === '') return '{}';
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) {
    throw invalidArgument(field, `is ${bytes} bytes; the limit is ${maxBytes}`);
  }
  if (!value.isWellFormed()) throw invalidArgument(field, 'must be valid UTF-8');
  try {
    JSON.parse(value);
  } catch {
    throw invalidArgument(field, 'must be valid JSON text');
  }
  return value;
}

/** Validates free text such as an identity or display name. */
export function text(field: string, value: string, limits: Limits, { required = false } = {}): string {
  if (required && value === '') throw invalidArgument(field, 'is required');
  if ([...value].length > limits.maxIdentityLength) {
    throw invalidArgument(field, `must be at most ${limits.maxIdentityLength} characters`);
  }
  if (CONTROL.test(value) || !value.isWellFormed()) {
    throw invalidArgument(field, 'must not contain control characters or invalid Unicode');
  }
  const invisible = INVISIBLE.exec(value.replace(EMOJI_JOINER, ''));
  if (invisible) {
    const codePoint = `U+${(invisible[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`;
    throw invalidArgument(
      field,
      `must not contain invisible or bidirectional formatting characters (found ${codePoint}); a zero-width joiner is allowed only between emoji`,
    );
  }
  return value;
}

/** Validates free text for people, such as a description: at most `maxLength` characters, no control characters. */
export function description(field: string, value: string, maxLength: number): string {
  if ([...value].length > maxLength) throw invalidArgument(field, `must be at most ${maxLength} characters`);
  if (CONTROL.test(value) || !value.isWellFormed()) {
    throw invalidArgument(field, 'must not contain control characters or invalid Unicode');
  }
  return value;
}

/** Validates max_peers: 0 (unlimited) up to 2^31-1. */
export function maxPeers(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 2_147_483_647) {
    throw invalidArgument('max_peers', 'must be between 0 (unlimited) and 2147483647');
  }
  return value;
}

/** Resolves token_ttl_seconds: 0 means the default; otherwise within the limits. */
export function tokenTtl(value: number, limits: Limits): number {
  if (value === 0) return limits.defaultTokenTtlSeconds;
  if (!Number.isInteger(value) || value < limits.minTokenTtlSeconds || value > limits.maxTokenTtlSeconds) {
    throw invalidArgument(
      'token_ttl_seconds',
      `must be 0 (meaning ${limits.defaultTokenTtlSeconds}) or between ${limits.minTokenTtlSeconds} and ${limits.maxTokenTtlSeconds}`,
    );
  }
  return value;
}

/** Resolves page_size: 0 means the default; above the maximum is refused. */
export function pageSize(value: number, limits: Limits): number {
  if (value === 0) return limits.defaultPageSize;
  if (!Number.isInteger(value) || value < 0 || value > limits.maxPageSize) {
    throw invalidArgument('page_size', `must be between 0 and ${limits.maxPageSize}`);
  }
  return value;
}

/** Validates an optional idempotency key; returns null when empty. */
export function requestId(value: string): string | null {
  if (value === '') return null;
  if (!REQUEST_ID.test(value)) throw invalidArgument('request_id', 'must be 1-128 printable ASCII characters without spaces');
  return value;
}

/** Longest room timeout: 30 days. */
export const MAX_TIMEOUT_SECONDS = 30 * 86_400;

/** Validates a room timeout in seconds: 0 (never) up to 30 days. */
export function timeout(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_TIMEOUT_SECONDS) {
    throw invalidArgument(field, `must be between 0 (never) and ${MAX_TIMEOUT_SECONDS} (30 days)`);
  }
  return value;
}
