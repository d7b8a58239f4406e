-- request_id keys expire (ROOMGATE_IDEMPOTENCY_KEY_TTL_HOURS, 24 h by default,
-- as Stripe's Idempotency-Key does); the purge finds expired ones by age.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
