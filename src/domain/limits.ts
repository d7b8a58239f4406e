/** Size and range limits applied to every request; configurable in src/config.ts. */
export interface Limits {
  /** Largest metadata or client_metadata JSON text, in UTF-8 bytes. */
  maxMetadataBytes: number;
  /** Largest peer identity or display name, in characters. */
  maxIdentityLength: number;
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
  maxIdentityLength: 128,
  maxPageSize: 100,
  defaultPageSize: 50,
  minTokenTtlSeconds: 60,
  maxTokenTtlSeconds: 86_400,
  defaultTokenTtlSeconds: 86_400,
});
