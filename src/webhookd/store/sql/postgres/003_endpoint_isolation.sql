-- Endpoint isolation: a rate limit and a circuit breaker per webhook, and a claim that
-- picks due work per webhook. The claim's indexes now lead with webhook_id, so the
-- backlog of a webhook that is paused or at its cap is never read by a claim.
-- rate_limit: deliveries a second at most (NULL: none); the bucket held rate_tokens at rate_at.
ALTER TABLE webhooks ADD COLUMN rate_limit integer;
ALTER TABLE webhooks ADD COLUMN rate_tokens double precision;
ALTER TABLE webhooks ADD COLUMN rate_at bigint;
-- The circuit: breaker failures in a row, openings in a row, open until (half-open after).
ALTER TABLE webhooks ADD COLUMN circuit_failures integer NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN circuit_trips integer NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN circuit_until bigint;
CREATE INDEX deliveries_due_first_by_webhook ON deliveries (webhook_id, next_attempt_at)
    WHERE status = 'pending' AND attempts = 0;
CREATE INDEX deliveries_due_retry_by_webhook ON deliveries (webhook_id, next_attempt_at)
    WHERE status = 'pending' AND attempts > 0;
DROP INDEX deliveries_due_first;
DROP INDEX deliveries_due_retry;
