-- Room events with a transactional outbox, webhook endpoints and deliveries,
-- peer connection status, and the room timeouts that purge idle rooms/peers.

ALTER TABLE rooms
  ADD COLUMN peerless_purge_timeout_seconds integer NOT NULL DEFAULT 0 CHECK (peerless_purge_timeout_seconds >= 0),
  ADD COLUMN peer_disconnected_timeout_seconds integer NOT NULL DEFAULT 0 CHECK (peer_disconnected_timeout_seconds >= 0),
  -- Last per-room event sequence handed out; bumped in the writing transaction.
  ADD COLUMN event_seq bigint NOT NULL DEFAULT 0,
  -- Peers currently CONNECTED, kept with every status change.
  ADD COLUMN connected_count integer NOT NULL DEFAULT 0 CHECK (connected_count >= 0),
  -- Since when no peer has been connected (creation, or the last disconnect).
  ADD COLUMN peerless_since timestamptz NOT NULL DEFAULT now();

CREATE INDEX rooms_peerless_idx ON rooms (peerless_since)
  WHERE peerless_purge_timeout_seconds > 0 AND connected_count = 0;

ALTER TABLE peers
  ADD COLUMN status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'connected', 'disconnected')),
  ADD COLUMN status_changed_at timestamptz NOT NULL DEFAULT now();

CREATE INDEX peers_disconnected_idx ON peers (status_changed_at) WHERE status = 'disconnected';

-- The outbox. txid orders the stream: a reader only returns events whose
-- transaction id is below the oldest transaction still running
-- (pg_snapshot_xmin), so no event can later appear before its cursor.
CREATE TABLE events (
  id           uuid PRIMARY KEY,
  position     bigint GENERATED ALWAYS AS IDENTITY,
  txid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
  environment  text NOT NULL CHECK (environment IN ('sandbox', 'production')),
  room_id      uuid NOT NULL,
  room_seq     bigint NOT NULL,
  type         text NOT NULL,
  -- The domain event (src/domain/events.ts) as JSON.
  payload      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT events_room_seq_key UNIQUE (room_id, room_seq)
);

CREATE INDEX events_stream_idx ON events (environment, txid, position);

CREATE TABLE webhook_endpoints (
  id                          uuid PRIMARY KEY,
  seq                         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  environment                 text NOT NULL CHECK (environment IN ('sandbox', 'production')),
  url                         text NOT NULL,
  event_types                 text[] NOT NULL DEFAULT '{}',
  room_id                     uuid,
  description                 text NOT NULL DEFAULT '',
  enabled                     boolean NOT NULL DEFAULT true,
  disabled_reason             text NOT NULL DEFAULT '',
  -- whsec_ secrets, AES-256-GCM under the key-encryption key like signing keys.
  secret_encrypted            bytea NOT NULL,
  previous_secret_encrypted   bytea,
  previous_secret_expires_at  timestamptz,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  updated_at                  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_endpoints_environment_idx ON webhook_endpoints (environment) WHERE enabled;

-- One row per (event, endpoint), written with the event in the same
-- transaction, so a committed event always has its deliveries.
CREATE TABLE webhook_deliveries (
  event_id          uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  endpoint_id       uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  room_id           uuid NOT NULL,
  room_seq          bigint NOT NULL,
  state             text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts          integer NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  last_attempt_at   timestamptz,
  last_status_code  integer NOT NULL DEFAULT 0,
  last_error        text NOT NULL DEFAULT '',
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, endpoint_id)
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, room_id, room_seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC);
