-- Webhook fairness (docs/reliability.md, "One sandbox token could stop webhook
-- delivery for every environment").

-- Set while a relay holds a delivery's lease, cleared when it records the
-- result: the claim counts an endpoint's attempts in flight from it, across
-- every relay on the database. next_attempt_at alone cannot tell a lease from
-- a scheduled retry. A relay that dies leaves it set, but past, so it no
-- longer counts.
ALTER TABLE webhook_deliveries ADD COLUMN lease_until timestamptz;

CREATE INDEX webhook_deliveries_leased_idx ON webhook_deliveries (endpoint_id)
  WHERE state = 'pending' AND lease_until IS NOT NULL;

-- The claim walks each endpoint's due deliveries, oldest first.
CREATE INDEX webhook_deliveries_endpoint_due_idx ON webhook_deliveries (endpoint_id, next_attempt_at)
  WHERE state = 'pending';

-- The endpoint quota, kept like room_count: a conditional increment in the
-- same transaction as the insert, a decrement with the delete.
ALTER TABLE environment_usage
  ADD COLUMN webhook_endpoint_count integer NOT NULL DEFAULT 0 CHECK (webhook_endpoint_count >= 0);

INSERT INTO environment_usage AS u (environment, webhook_endpoint_count)
SELECT environment, count(*) FROM webhook_endpoints GROUP BY environment
ON CONFLICT (environment) DO UPDATE SET webhook_endpoint_count = EXCLUDED.webhook_endpoint_count;
