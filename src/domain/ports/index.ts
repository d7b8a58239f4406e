// The store interfaces the domain needs, one file per aggregate; src/store
// implements them, and test/support/fakes holds in-memory ones for unit tests.
export * from './audit-trail.js';
export * from './audit-store.js';
export * from './ban-store.js';
export * from './event-store.js';
export * from './management-token-store.js';
export * from './peer-store.js';
export * from './purge-store.js';
export * from './room-store.js';
export * from './signing-key-store.js';
export * from './webhook-delivery-queue.js';
export * from './webhook-store.js';
export * from './join-rate-limiter.js';
export * from './join-rate-limit-store.js';
export * from './role-store.js';
export * from './join-code-store.js';
export * from './join-settings-store.js';
