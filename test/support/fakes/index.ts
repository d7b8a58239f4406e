// In-memory implementations of the store interfaces in src/domain/ports, for
// unit tests of the domain managers without Postgres. Isolation: nothing here
// is module-level state; each test builds its own stores (MemoryRoomStore and
// MemoryPeerStore share one MemoryTables, as the real stores share a database).
// They honour the contracts documented on the interfaces and the error codes
// of src/store; the concurrency those stores handle with locks does not arise
// here, because no fake method yields between reading and writing.
// MemoryEventStore, MemoryWebhookStore and MemoryWebhookDeliveryQueue share
// one MemoryOutbox the same way; tests write events into it with
// MemoryOutbox.append (or begin(), for a transaction left running), because
// the room and peer fakes record no outbox events.
export { MemoryBanStore, memoryBan } from './memory-ban-store.js';
export { comparePositions, MemoryEventStore } from './memory-event-store.js';
export { MemoryManagementTokenStore } from './memory-management-token-store.js';
export { MemoryPeerStore } from './memory-peer-store.js';
export { MemoryPurgeStore } from './memory-purge-store.js';
export { compareSeq, MemoryRoomStore, pageBySeq } from './memory-room-store.js';
export { MemorySigningKeyStore } from './memory-signing-key-store.js';
export { ENDPOINT_DISABLED, MemoryOutbox, type MemoryTransaction, type NewEvent } from './memory-outbox.js';
export { copyPeer, copyRoom, MemoryTables } from './memory-tables.js';
export { MemoryWebhookDeliveryQueue, type RecordCall } from './memory-webhook-delivery-queue.js';
export { endpointInput, MemoryWebhookStore } from './memory-webhook-store.js';
export * from './domain.js';
