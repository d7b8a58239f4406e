-- Bans (BanService, DeletePeer's ban) and events of the whole environment.

-- One row per ban, active or not yet swept: a ban applies while expires_at is
-- NULL (until lifted) or after now(), in the database's time, so it stops
-- applying at its expiry even before the purge deletes it with its
-- ban_expired event. A room's bans go with the room (ON DELETE CASCADE),
-- without ban events: its ROOM_DELETED or ROOM_PURGED says they ended.
CREATE TABLE bans (
  id           uuid PRIMARY KEY,
  seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  environment  text NOT NULL CHECK (environment IN ('sandbox', 'production')),
  identity     text NOT NULL,
  -- NULL bans the identity from every room of the environment.
  room_id      uuid REFERENCES rooms (id) ON DELETE CASCADE,
  reason       text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz
);

-- At most one ban row per (environment, scope, identity). A ban past its
-- expiry that the purge has not swept yet is deleted, with its ban_expired
-- event, by the next ban of the same scope before it inserts.
CREATE UNIQUE INDEX bans_scope_identity_key
  ON bans (environment, identity, COALESCE(room_id, '00000000-0000-0000-0000-000000000000'::uuid));

-- ListBans, newest first, per environment; the expiry purge, oldest first.
CREATE INDEX bans_environment_seq_idx ON bans (environment, seq);
CREATE INDEX bans_expires_at_idx ON bans (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX bans_room_id_idx ON bans (room_id) WHERE room_id IS NOT NULL;

-- An environment-wide ban finds the identity's peers in every room.
CREATE INDEX peers_identity_idx ON peers (identity);

-- Events of the whole environment (an environment-wide ban's) have no room
-- and no room sequence.
ALTER TABLE events
  ALTER COLUMN room_id DROP NOT NULL,
  ALTER COLUMN room_seq DROP NOT NULL,
  ADD CONSTRAINT events_room_check CHECK ((room_id IS NULL) = (room_seq IS NULL));

-- A delivery of such an event has no room either; its room_seq holds the
-- event's position instead, which orders an endpoint's environment-wide
-- deliveries among themselves (a ban's BAN_LIFTED is written after its
-- BAN_CREATED committed, so it has the larger position).
ALTER TABLE webhook_deliveries ALTER COLUMN room_id DROP NOT NULL;
