-- RedeemJoinCode's audit records name the join code redeemed as their actor
-- (actor_kind 'join_code', actor_id the code's id): its caller has no other
-- credential.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_actor_kind_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_kind_check
  CHECK (actor_kind IN ('management_token', 'peer_token', 'cli', 'join_code'));
