// In-memory implementations of the store interfaces in src/domain/ports, for
// unit tests of the domain managers without Postgres. Isolation: nothing here
// is module-level state; each test builds its own stores (MemoryRoomStore and
// MemoryPeerStore share one MemoryTables, as the real stores share a database).
// They honour the contracts documented on the interfaces and the error codes
// of src/store; the concurrency those stores handle with locks does not arise
// here, because no fake method yields between reading and writing.
// Not faked yet: EventStreamStore (test/unit/event-stream.test.ts has its own,
// shaped for transaction-id ordering), WebhookEndpointStore and
// WebhookDeliveryQueue; the room and peer fakes record no outbox events.
export { MemoryManagementTokenStore } from './memory-management-token-store.js';
export { MemoryPeerStore } from './memory-peer-store.js';
export { MemoryPurgeStore } from './memory-purge-store.js';
export { compareSeq, MemoryRoomStore } from './memory-room-store.js';
export { MemorySigningKeyStore } from './memory-signing-key-store.js';
export { copyPeer, copyRoom, MemoryTables } from './memory-tables.js';
export * from './domain.js';
