-- Operational webhooks (domain/operator.py) and delivery statistics.
-- What the platform's operator has been told about each endpoint, so every notice goes
-- out once: the thresholds of endpoint.failing announced since the failure clock started
-- (0 to 3), whether an endpoint.recovered is owed (it failed past a threshold, its
-- circuit opened, or webhookd disabled it), and when the last message.attempt.exhausted
-- went out, with the exhaustions since then not yet announced (at most one an hour).
ALTER TABLE webhooks ADD COLUMN ops_failing_notified integer NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN ops_recovery_owed boolean NOT NULL DEFAULT false;
ALTER TABLE webhooks ADD COLUMN ops_exhausted_at bigint;
ALTER TABLE webhooks ADD COLUMN ops_exhausted_unsent integer NOT NULL DEFAULT 0;
-- The last attempt that succeeded, and the last that failed (the page shows both).
ALTER TABLE webhooks ADD COLUMN last_success_at bigint;
ALTER TABLE webhooks ADD COLUMN last_failure_at bigint;
-- GET /dashboard/webhooks/{id}/stats: one webhook's deliveries in a time window, read
-- from the index alone (status and attempts are carried in it), however large the table.
CREATE INDEX deliveries_stats ON deliveries (webhook_id, created_at) INCLUDE (status, attempts);
