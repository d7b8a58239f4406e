/** Size and range limits applied to every request; configurable in src/config.ts. */
export interface Limits {
  /** Largest backend metadata JSON text (rooms and peers), in UTF-8 bytes. */
  maxMetadataBytes: number;
  /** Largest client_metadata JSON text, in UTF-8 bytes. */
  maxClientMetadataBytes: number;
  /** Largest peer identity, display name or token name, in characters. */
  maxIdentityLength: number;
  /** Largest `authorization` metadata value, in bytes; checked before parsing. */
  maxAuthorizationBytes: number;
  /** Most rooms one environment may hold at once. */
  maxRoomsPerEnvironment: number;
  /** Most active bans one environment may hold at once. */
  maxBansPerEnvironment: number;
  /** Most roles one environment may hold. */
  maxRolesPerEnvironment: number;
  /** Longest a peer's session may last: no token outlives createdAt + this. */
  maxPeerSessionSeconds: number;
  /** Largest page a list call may ask for. */
  maxPageSize: number;
  /** Page size used when a list call asks for 0. */
  defaultPageSize: number;
  /** Shortest and longest peer token lifetimes, in seconds. */
  minTokenTtlSeconds: number;
  maxTokenTtlSeconds: number;
  /** Lifetime used when a request asks for 0. */
  defaultTokenTtlSeconds: number;
}

/** The limits roomgate ships with. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxMetadataBytes: 4096,
  maxClientMetadataBytes: 4096,
  maxIdentityLength: 128,
  maxAuthorizationBytes: 8192,
  maxRoomsPerEnvironment: 100_000,
  maxBansPerEnvironment: 100_000,
  maxRolesPerEnvironment: 100,
  maxPeerSessionSeconds: 7 * 86_400,
  maxPageSize: 100,
  defaultPageSize: 50,
  minTokenTtlSeconds: 60,
  maxTokenTtlSeconds: 86_400,
  defaultTokenTtlSeconds: 86_400,
});
