-- RedeemJoinCode's audit records name the join code redeemed as their actor
-- (actor_kind 'join_code', actor_id the code's id): its caller has no other
-- credential.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_actor_kind_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_kind_check
  CHECK (actor_kind IN ('management_token', 'peer_token', 'cli', 'join_code'));

-- When the code's last use was counted, so that the purge knows how long a
-- used-up code has been dead (expired and revoked codes say so already).
ALTER TABLE join_codes ADD COLUMN used_up_at timestamptz;

-- The moment a code stopped working: the purge deletes codes dead for longer
-- than ROOMGATE_JOIN_CODE_RETENTION_DAYS, oldest first, by this expression.
CREATE INDEX join_codes_dead_at_idx ON join_codes
  ((LEAST(expires_at, COALESCE(revoked_at, 'infinity'), COALESCE(used_up_at, 'infinity'))));
