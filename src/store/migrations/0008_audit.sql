-- The audit log: one record per change made with a management token, a peer
-- token or the CLI, written in the change's own transaction, and one per call
-- refused with PERMISSION_DENIED after authentication. Records of an
-- environment form a hash chain (src/domain/audit-record.ts): each carries
-- the SHA-256 of its content and of the previous record's hash.
CREATE TABLE audit_events (
  environment    text NOT NULL CHECK (environment IN ('sandbox', 'production')),
  -- Position in the environment's chain, from 1, without gaps.
  sequence       bigint NOT NULL,
  id             uuid NOT NULL UNIQUE,
  -- Stored to the millisecond, as hashed.
  time           timestamptz NOT NULL,
  actor_kind     text NOT NULL CHECK (actor_kind IN ('management_token', 'peer_token', 'cli')),
  -- The management token's id, the peer's id, or the OS user of the CLI.
  actor_id       text NOT NULL,
  actor_name     text NOT NULL DEFAULT '',
  actor_hint     text NOT NULL DEFAULT '',
  actor_room_id  text NOT NULL DEFAULT '',
  method         text NOT NULL,
  -- [{"type": "room", "id": "…"}, …] in the order the change named them.
  targets        jsonb NOT NULL DEFAULT '[]',
  -- The targets' ids again, for the target filter's index.
  target_ids     text[] NOT NULL DEFAULT '{}',
  request_id     text NOT NULL,
  result         text NOT NULL,
  error_reason   text NOT NULL DEFAULT '',
  previous_hash  text NOT NULL,
  hash           text NOT NULL,
  PRIMARY KEY (environment, sequence)
);

CREATE INDEX audit_events_time_idx ON audit_events (environment, time);
CREATE INDEX audit_events_actor_idx ON audit_events (environment, actor_id, sequence);
CREATE INDEX audit_events_method_idx ON audit_events (environment, method, sequence);
CREATE INDEX audit_events_target_ids_idx ON audit_events USING gin (target_ids);

-- The head of each environment's chain. Appending locks the row (FOR UPDATE)
-- so that concurrent changes on any instance chain one after another. After
-- retention pruning, anchor_* name the last pruned record: verification of
-- what is left starts from its hash.
CREATE TABLE audit_chain_heads (
  environment      text PRIMARY KEY CHECK (environment IN ('sandbox', 'production')),
  sequence         bigint NOT NULL DEFAULT 0,
  hash             text NOT NULL DEFAULT repeat('0', 64),
  anchor_sequence  bigint NOT NULL DEFAULT 0,
  anchor_hash      text NOT NULL DEFAULT repeat('0', 64)
);

INSERT INTO audit_chain_heads (environment) VALUES ('sandbox'), ('production');

-- The `audit` scope reads the audit log (ListAuditEvents) and nothing else.
ALTER TABLE management_tokens DROP CONSTRAINT management_tokens_scopes_check;
ALTER TABLE management_tokens ADD CONSTRAINT management_tokens_scopes_check
  CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['admin', 'rooms', 'verify', 'read', 'audit']);
