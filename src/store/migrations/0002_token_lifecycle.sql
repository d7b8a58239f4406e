-- Token lifecycle: management-token scopes and paging, peer permission
-- generations (a permission change supersedes earlier tokens), and the
-- per-environment room counter that enforces the room quota.

ALTER TABLE management_tokens
  ADD COLUMN scopes text[] NOT NULL DEFAULT ARRAY['admin'],
  ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  ADD CONSTRAINT management_tokens_scopes_check
    CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['admin', 'rooms', 'verify', 'read']);

CREATE INDEX management_tokens_environment_seq_idx ON management_tokens (environment, seq);

-- Bumped by every permission change; tokens carry the generation they were
-- issued at, and an older one is SUPERSEDED.
ALTER TABLE peers ADD COLUMN generation integer NOT NULL DEFAULT 1;

-- Kept in the same transaction as every room insert and delete; a conditional
-- increment enforces the quota under concurrency, as peer_count does max_peers.
CREATE TABLE environment_usage (
  environment text PRIMARY KEY CHECK (environment IN ('sandbox', 'production')),
  room_count  integer NOT NULL DEFAULT 0 CHECK (room_count >= 0)
);

INSERT INTO environment_usage (environment, room_count)
SELECT environment, count(*) FROM rooms GROUP BY environment;
