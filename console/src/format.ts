import { timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { EventType } from './gen/roomgate/v1/events_pb.js';
import { ManagementScope } from './gen/roomgate/v1/resources_pb.js';

/** A timestamp as local date and time, or an em dash when unset. */
export function formatTime(ts: Timestamp | undefined): string {
  if (!ts) return '—';
  return timestampDate(ts).toLocaleString();
}

/** An enum value's name without its prefix, e.g. PEER_CREATED for EVENT_TYPE_PEER_CREATED. */
export function enumName(e: Record<number, string>, value: number, prefix: string): string {
  const name = e[value] ?? String(value);
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** Scope names in the order the console lists them. */
export const SCOPE_NAMES = ['admin', 'rooms', 'read', 'verify', 'audit'] as const;
/** One scope's name. */
export type ScopeName = (typeof SCOPE_NAMES)[number];

const SCOPE_VALUES: Record<ScopeName, ManagementScope> = {
  admin: ManagementScope.ADMIN,
  rooms: ManagementScope.ROOMS,
  read: ManagementScope.READ,
  verify: ManagementScope.VERIFY,
  audit: ManagementScope.AUDIT,
};

/** The names of `scopes`, in console order. */
export function scopeNames(scopes: readonly ManagementScope[]): ScopeName[] {
  return SCOPE_NAMES.filter((n) => scopes.includes(SCOPE_VALUES[n]));
}

/** The enum values of scope names. */
export function scopeValues(names: readonly ScopeName[]): ManagementScope[] {
  return names.map((n) => SCOPE_VALUES[n]);
}

/** An event type's short name, e.g. PEER_CREATED. */
export function eventTypeName(t: EventType): string {
  return EventType[t] ?? String(t);
}

/** Every event type but UNSPECIFIED. */
export const EVENT_TYPES: EventType[] = Object.values(EventType).filter(
  (v): v is EventType => typeof v === 'number' && v !== EventType.UNSPECIFIED,
);
