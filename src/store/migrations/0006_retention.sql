-- Event retention (ROOMGATE_EVENT_RETENTION_SECONDS, 7 days by default): the
-- purge deletes events older than that, oldest first and in batches, with
-- their delivered and failed webhook deliveries (ON DELETE CASCADE), never an
-- event that a pending delivery still needs.
CREATE INDEX events_created_at_idx ON events (created_at);

-- The newest stream position (txid, position) that retention has deleted, per
-- environment, written in the deleting transaction. A WatchEvents cursor
-- below it may have missed deleted events, so it is refused (OUT_OF_RANGE)
-- rather than silently skipping them; a cursor at or above it has missed none.
CREATE TABLE event_retention (
  environment      text PRIMARY KEY CHECK (environment IN ('sandbox', 'production')),
  pruned_txid      xid8 NOT NULL,
  pruned_position  bigint NOT NULL,
  pruned_at        timestamptz NOT NULL DEFAULT now()
);
