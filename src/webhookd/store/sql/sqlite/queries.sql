-- Every statement the SQLite engine runs, by name (see store/queries.py).
-- Parameters are named (:name); times are epoch milliseconds.

-- name: insert_webhook
INSERT INTO webhooks (id, tenant_id, url, events, description, secret, active, created_at,
                      rate_limit, fifo, headers, auth)
VALUES (:id, :tenant, :url, :events, :description, :secret, :active, :created_at, :rate_limit,
        :fifo, :headers, :auth);

-- name: list_webhooks
SELECT * FROM webhooks WHERE tenant_id = :tenant ORDER BY id;

-- name: get_webhook
SELECT * FROM webhooks WHERE tenant_id = :tenant AND id = :id;

-- name: update_webhook
UPDATE webhooks
   SET url = coalesce(:url, url), events = coalesce(:events, events),
       description = coalesce(:description, description),
       rate_limit = CASE WHEN :rate_limit IS NULL THEN rate_limit
                         WHEN :rate_limit = 0 THEN NULL ELSE :rate_limit END,
       fifo = coalesce(:fifo, fifo),
       headers = coalesce(:headers, headers),
       auth = CASE WHEN :auth_set THEN :auth ELSE auth END
 WHERE tenant_id = :tenant AND id = :id;

-- name: toggle_webhook
-- Enabling clears what webhookd recorded about why it was disabled, and closes the circuit.
UPDATE webhooks
   SET active = 1 - active, disabled_reason = NULL,
       failing_since = CASE WHEN active = 0 THEN NULL ELSE failing_since END,
       circuit_failures = CASE WHEN active = 0 THEN 0 ELSE circuit_failures END,
       circuit_trips = CASE WHEN active = 0 THEN 0 ELSE circuit_trips END,
       circuit_until = CASE WHEN active = 0 THEN NULL ELSE circuit_until END
 WHERE tenant_id = :tenant AND id = :id;

-- name: rotate_secret
UPDATE webhooks SET secret = :secret, old_secrets = :old_secrets
 WHERE tenant_id = :tenant AND id = :id;

-- name: delete_webhook
DELETE FROM webhooks WHERE tenant_id = :tenant AND id = :id;

-- name: touch_webhook
UPDATE webhooks SET last_triggered_at = max(coalesce(last_triggered_at, 0), :at) WHERE id = :id;

-- name: webhook_triggered
-- A settle batch's attempts moved these webhooks' clocks (worked out by the settle, which
-- holds their rows).
-- With them, what the operator has been told (domain/operator.py), and the last success
-- and failure.
UPDATE webhooks
   SET last_triggered_at = max(coalesce(last_triggered_at, 0), :at), failing_since = :failing_since,
       last_success_at = CASE WHEN :success_at IS NULL THEN last_success_at
                              ELSE max(coalesce(last_success_at, 0), :success_at) END,
       last_failure_at = CASE WHEN :failure_at IS NULL THEN last_failure_at
                              ELSE max(coalesce(last_failure_at, 0), :failure_at) END,
       ops_failing_notified = :failing_notified, ops_recovery_owed = :recovery_owed,
       ops_exhausted_at = :exhausted_at, ops_exhausted_unsent = :exhausted_unsent
 WHERE id = :id;

-- name: webhook_succeeded
UPDATE webhooks SET failing_since = NULL WHERE id = :id;

-- name: disable_webhook
UPDATE webhooks SET active = 0, disabled_reason = :reason WHERE id = :id AND active = 1
RETURNING tenant_id;

-- name: find_idempotent
-- The events named by the pairs (:tenants[i], :keys[i]).
SELECT e.tenant_id, e.idempotency_key, e.id, e.deliveries, e.created_at, e.request_hash
  FROM json_each(:tenants) AS t
  JOIN events e ON e.tenant_id = t.value AND e.idempotency_key = :keys ->> t.key
                AND e.idempotency_key IS NOT NULL;

-- name: forget_idempotency_key
UPDATE events SET idempotency_key = NULL WHERE id = :id;

-- name: active_webhooks
-- Hundreds of rows in one (sqlite.py: rows as JSON): each row fetched is a step of its
-- own, and the database thread waits for the GIL after each one.
SELECT json_group_array(json_object('id', id, 'events', events, 'fifo', fifo,
                                    'payload_filter', payload_filter)) AS json_rows
  FROM (SELECT id, events, fifo, payload_filter FROM webhooks
         WHERE tenant_id = :tenant AND active = 1 ORDER BY id);

-- name: lock_fifo
-- The write transaction already excludes every other publish: a plain read.
SELECT id, fifo_last FROM webhooks WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id;

-- name: set_fifo_last
UPDATE webhooks SET fifo_last = :last WHERE id = :id;

-- name: fifo_head
-- The head of the webhook's queue if it delivers in order (none otherwise): its oldest
-- pending delivery (a manual resend goes out of order and is not in the queue).
SELECT id FROM deliveries
 WHERE webhook_id = :webhook AND status = 'pending' AND NOT manual
   AND EXISTS (SELECT 1 FROM webhooks WHERE id = :webhook AND fifo)
 ORDER BY id LIMIT 1;

-- name: insert_event
INSERT INTO events (id, tenant_id, type, body, idempotency_key, request_hash, deliveries,
                    created_at)
VALUES (:id, :tenant, :type, :body, :key, :request_hash, :deliveries, :created_at);

-- name: insert_events
-- A "many" statement: one row per parameter set.
INSERT INTO events (id, tenant_id, type, body, idempotency_key, request_hash, deliveries,
                    created_at)
VALUES (:id, :tenant, :type, :body, :key, :request_hash, :deliveries, :created_at);

-- name: insert_delivery
-- A "many" statement over the whole batch as JSON (sqlite.py: a batch as JSON): a fan-out
-- of hundreds is one step, not one per row with the GIL taken back after each.
INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, attempts,
                        next_attempt_at, manual, created_at)
SELECT value ->> 'id', value ->> 'event_id', value ->> 'webhook_id', value ->> 'tenant',
       value ->> 'type', value ->> 'status', value ->> 'attempts', value ->> 'at',
       value ->> 'manual', value ->> 'at'
  FROM json_each(:batch);

-- name: insert_tested_delivery
INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, attempts,
                        next_attempt_at, manual, created_at, last_attempt_at, last_http_status)
VALUES (:id, :event_id, :webhook_id, :tenant, :type, :status, 1, :at, :manual, :at, :at,
        :http_status);

-- name: due
-- Both lanes of a claim, picked per webhook. For each webhook not excluded (at its cap
-- in this worker, outside :only when given, or paused by its circuit), its room
-- (:rooms[i] for webhook :room_ids[i], :room for one not named) of its oldest due
-- retries and first attempts, read from a partial index led by webhook_id (the
-- correlated IN is SQLite's LATERAL, whose LIMIT must be the same for every webhook:
-- :per_webhook, then the rank trims each to its room). The backlog of an excluded
-- webhook is never read. Of those, the oldest :retry_limit retries and :first_limit
-- first attempts, with what the claim needs to know of their webhook. The webhooks and
-- their rooms are read once for both lanes (an index on `rooms` serves the join).
-- A webhook that delivers in order (fifo) gives only the head of its queue (the third
-- part: its oldest pending delivery, if due and not leased), and manual resends, which
-- go out of order.
WITH rooms (id, room) AS MATERIALIZED (SELECT value, :rooms ->> key FROM json_each(:room_ids)),
hooks AS MATERIALIZED (
    SELECT w.id, w.rate_limit, w.circuit_until, w.fifo, coalesce(r.room, :room) AS room
      FROM webhooks w LEFT JOIN rooms r ON r.id = w.id
     WHERE w.id NOT IN (SELECT value FROM json_each(:excluded))
       AND (:only IS NULL OR w.id IN (SELECT value FROM json_each(:only)))
       AND (w.circuit_until IS NULL OR w.circuit_until <= :now)
)
SELECT * FROM (
    SELECT id, webhook_id, 1 AS retry, rate_limit, circuit_until FROM (
        SELECT d.id, h.id AS webhook_id, h.rate_limit, h.circuit_until, d.next_attempt_at,
               h.room, row_number() OVER (PARTITION BY h.id ORDER BY d.next_attempt_at) AS rank
          FROM hooks h JOIN deliveries d ON d.id IN (
               SELECT x.id FROM deliveries x
                WHERE x.webhook_id = h.id AND x.status = 'pending' AND x.attempts > 0
                  AND x.next_attempt_at <= :now
                  AND (x.locked_until IS NULL OR x.locked_until < :now)
                  AND (NOT h.fifo OR x.manual)
                ORDER BY x.next_attempt_at LIMIT :per_webhook))
     WHERE rank <= room
     ORDER BY next_attempt_at LIMIT :retry_limit)
UNION ALL
SELECT * FROM (
    SELECT id, webhook_id, 0, rate_limit, circuit_until FROM (
        SELECT d.id, h.id AS webhook_id, h.rate_limit, h.circuit_until, d.next_attempt_at,
               h.room, row_number() OVER (PARTITION BY h.id ORDER BY d.next_attempt_at) AS rank
          FROM hooks h JOIN deliveries d ON d.id IN (
               SELECT x.id FROM deliveries x
                WHERE x.webhook_id = h.id AND x.status = 'pending' AND x.attempts = 0
                  AND x.next_attempt_at <= :now
                  AND (x.locked_until IS NULL OR x.locked_until < :now)
                  AND NOT h.fifo
                ORDER BY x.next_attempt_at LIMIT :per_webhook))
     WHERE rank <= room
     ORDER BY next_attempt_at LIMIT :first_limit)
UNION ALL
SELECT d.id, h.id, d.attempts > 0, h.rate_limit, h.circuit_until
  FROM hooks h JOIN deliveries d ON d.id = (
       SELECT y.id FROM deliveries y
        WHERE y.webhook_id = h.id AND y.status = 'pending' AND NOT y.manual
        ORDER BY y.id LIMIT 1)
 WHERE h.fifo AND h.room > 0 AND d.next_attempt_at <= :now
   AND (d.locked_until IS NULL OR d.locked_until < :now);

-- name: webhook_claimed
-- A claim took tokens of these webhooks' rate limits, or sent a half-open circuit's probe.
UPDATE webhooks
   SET rate_tokens = coalesce(:tokens, rate_tokens), rate_at = coalesce(:at, rate_at),
       circuit_until = coalesce(:probe_until, circuit_until)
 WHERE id = :id;

-- name: set_circuit
UPDATE webhooks SET circuit_failures = :failures, circuit_trips = :trips, circuit_until = :until
 WHERE id = :id;

-- name: lease_jobs
-- Lease the picked deliveries and return each with what sending it needs.
UPDATE deliveries SET locked_until = :until, lease_token = :token
 WHERE id IN (SELECT value FROM json_each(:ids))
RETURNING id, webhook_id, event_type, attempts, manual,
          (SELECT url FROM webhooks w WHERE w.id = webhook_id) AS url,
          (SELECT fifo FROM webhooks w WHERE w.id = webhook_id) AS fifo,
          (SELECT secret FROM webhooks w WHERE w.id = webhook_id) AS secret,
          (SELECT old_secrets FROM webhooks w WHERE w.id = webhook_id) AS old_secrets,
          (SELECT active FROM webhooks w WHERE w.id = webhook_id) AS active,
          (SELECT headers FROM webhooks w WHERE w.id = webhook_id) AS headers,
          (SELECT auth FROM webhooks w WHERE w.id = webhook_id) AS auth,
          (SELECT body FROM events e WHERE e.id = event_id) AS body;

-- name: lease_holders
-- Who holds each lease of a settle batch; locked until the batch commits.
SELECT id, lease_token FROM deliveries
 WHERE id IN (SELECT value FROM json_each(:ids));

-- name: settle
-- Applies only while the caller still holds the lease.
UPDATE deliveries
   SET status = :status, next_attempt_at = coalesce(:next_at, next_attempt_at),
       attempts = attempts + :attempted, last_attempt_at = coalesce(:at, last_attempt_at),
       last_http_status = coalesce(:http_status, last_http_status),
       locked_until = NULL, lease_token = NULL
 WHERE id = :id AND lease_token = :token;

-- name: record_attempt
INSERT INTO attempts (delivery_id, attempted_at, duration_ms, http_status, error,
                      response_excerpt, request_headers)
VALUES (:delivery_id, :at, :duration_ms, :http_status, :error, :excerpt, :headers);

-- name: list_deliveries
-- The delivery log, newest first: every status in turn, each on the index
-- (webhook_id, status, id), merged. A (webhook_id, id) index would serve this
-- query alone, and cost every fan-out row of every publish one more insert.
SELECT * FROM (
  SELECT * FROM (SELECT * FROM deliveries
                  WHERE webhook_id = :webhook AND status = 'pending'
                    AND id < :before AND tenant_id = :tenant
                  ORDER BY id DESC LIMIT :limit)
  UNION ALL
  SELECT * FROM (SELECT * FROM deliveries
                  WHERE webhook_id = :webhook AND status = 'delivered'
                    AND id < :before AND tenant_id = :tenant
                  ORDER BY id DESC LIMIT :limit)
  UNION ALL
  SELECT * FROM (SELECT * FROM deliveries
                  WHERE webhook_id = :webhook AND status = 'failed'
                    AND id < :before AND tenant_id = :tenant
                  ORDER BY id DESC LIMIT :limit)
) ORDER BY id DESC LIMIT :limit;

-- name: list_deliveries_by_status
SELECT * FROM deliveries
 WHERE webhook_id = :webhook AND status = :status AND id < :before AND tenant_id = :tenant
 ORDER BY id DESC LIMIT :limit;

-- name: list_deliveries_by_event
SELECT * FROM (
  SELECT * FROM (SELECT * FROM deliveries
                  WHERE webhook_id = :webhook AND status = 'pending'
                    AND id < :before AND tenant_id = :tenant AND event_type = :event
                  ORDER BY id DESC LIMIT :limit)
  UNION ALL
  SELECT * FROM (SELECT * FROM deliveries
                  WHERE webhook_id = :webhook AND status = 'delivered'
                    AND id < :before AND tenant_id = :tenant AND event_type = :event
                  ORDER BY id DESC LIMIT :limit)
  UNION ALL
  SELECT * FROM (SELECT * FROM deliveries
                  WHERE webhook_id = :webhook AND status = 'failed'
                    AND id < :before AND tenant_id = :tenant AND event_type = :event
                  ORDER BY id DESC LIMIT :limit)
) ORDER BY id DESC LIMIT :limit;

-- name: list_deliveries_by_status_and_event
SELECT * FROM deliveries
 WHERE webhook_id = :webhook AND status = :status AND id < :before AND tenant_id = :tenant
   AND event_type = :event
 ORDER BY id DESC LIMIT :limit;

-- name: get_delivery
SELECT d.*, e.body FROM deliveries d JOIN events e ON e.id = d.event_id
 WHERE d.tenant_id = :tenant AND d.webhook_id = :webhook AND d.id = :id;

-- name: attempts_of
SELECT * FROM attempts WHERE delivery_id = :id ORDER BY id;

-- name: resend
-- Due now. A failed or delivered delivery gets one more attempt (manual); a pending
-- one keeps its place in its own retry chain, just sooner.
UPDATE deliveries
   SET next_attempt_at = :now, manual = CASE WHEN status = 'pending' THEN manual ELSE 1 END,
       status = 'pending'
 WHERE id = :id;

-- name: recover
UPDATE deliveries SET status = 'pending', next_attempt_at = :now, manual = 1
 WHERE id IN (SELECT id FROM deliveries
               WHERE webhook_id = :webhook AND status = 'failed' AND event_type <> 'test'
                 AND created_at >= :since AND created_at < :until
               ORDER BY created_at LIMIT :limit);

-- name: purge
-- Oldest events first, only those with nothing left to send; deliveries and attempts
-- go with them (ON DELETE CASCADE).
DELETE FROM events WHERE id IN (
    SELECT e.id FROM events e
     WHERE e.created_at < :before
       AND NOT EXISTS (SELECT 1 FROM deliveries d
                        WHERE d.event_id = e.id AND d.status = 'pending')
     ORDER BY e.created_at LIMIT :batch);

-- name: lock_delivery
-- (a SQLite write transaction already holds the database lock)
SELECT d.*, e.body FROM deliveries d JOIN events e ON e.id = d.event_id
 WHERE d.tenant_id = :tenant AND d.webhook_id = :webhook AND d.id = :id;

-- name: ping
SELECT 1;

-- name: insert_audit
INSERT INTO audit_log (id, tenant_id, actor, action, webhook_id, details, at)
VALUES (:id, :tenant, :actor, :action, :webhook_id, :details, :at);

-- name: list_audit
SELECT * FROM audit_log WHERE tenant_id = :tenant AND id < :before ORDER BY id DESC LIMIT :limit;

-- name: all_secrets
SELECT id, secret, old_secrets, auth FROM webhooks ORDER BY id;

-- name: set_secrets
UPDATE webhooks SET secret = :secret, old_secrets = :old_secrets, auth = :auth WHERE id = :id;

-- name: queue_stats
-- For /metrics: the pending backlog, what of it is due, and the oldest due time. Reads
-- only pending rows (the two partial claim indexes), so it costs O(backlog).
-- Due means claimable: leased (in-flight) rows are not counted, and neither are those
-- of a webhook whose circuit is open (they wait for its probe: one customer's endpoint
-- being down is not "the workers are behind"; webhookd_webhooks_health shows it).
SELECT count(*) AS pending, count(due) AS due, min(due) AS oldest
  FROM (SELECT CASE WHEN d.next_attempt_at <= :now
                     AND (d.locked_until IS NULL OR d.locked_until < :now)
                     AND (w.circuit_until IS NULL OR w.circuit_until <= :now)
                    THEN d.next_attempt_at END AS due
          FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.status = 'pending') AS backlog;

-- name: webhook_health
-- For /metrics: enabled webhooks by health (as the API shows it).
SELECT coalesce(sum(circuit_until IS NOT NULL), 0) AS paused,
       coalesce(sum(circuit_until IS NULL
                     AND (failing_since IS NOT NULL OR circuit_failures > 0)), 0) AS failing,
       coalesce(sum(circuit_until IS NULL AND failing_since IS NULL
                    AND circuit_failures = 0), 0) AS healthy
  FROM webhooks WHERE active = 1;

-- name: auto_disabled_webhooks
SELECT count(*) AS disabled FROM webhooks WHERE active = 0 AND disabled_reason IS NOT NULL;

-- name: lock_webhook
-- Write transactions are BEGIN IMMEDIATE: the whole database is already held.
SELECT id FROM webhooks WHERE tenant_id = :tenant AND id = :id;

-- name: count_webhooks
SELECT count(*) AS n FROM webhooks WHERE tenant_id = :tenant;

-- name: lock_webhooks
SELECT id, tenant_id, active, rate_limit, rate_tokens, rate_at, circuit_failures,
       circuit_trips, circuit_until, failing_since, ops_failing_notified, ops_recovery_owed,
       ops_exhausted_at, ops_exhausted_unsent
  FROM webhooks WHERE id IN (SELECT value FROM json_each(:ids));

-- name: try_lock_webhooks
-- The write transaction already excludes every other writer: nothing is ever skipped.
SELECT id, active, rate_limit, rate_tokens, rate_at, circuit_failures, circuit_trips,
       circuit_until, failing_since
  FROM webhooks WHERE id IN (SELECT value FROM json_each(:ids));

-- name: set_webhook_filter
-- A webhook's payload filter (domain/filters.py): its JSON text, or NULL for none.
UPDATE webhooks SET payload_filter = :filter WHERE tenant_id = :tenant AND id = :id;

-- name: set_operator
-- The operator's webhook (domain/operator.py), as the settings give it at start.
INSERT INTO webhooks (id, tenant_id, url, events, description, secret, active, created_at)
VALUES (:id, :tenant, :url, :events, :description, :secret, 1, :created_at)
ON CONFLICT (id) DO UPDATE
   SET url = excluded.url, events = excluded.events, description = excluded.description,
       secret = excluded.secret, old_secrets = '[]', active = 1, disabled_reason = NULL;

-- name: stats_counts
-- GET …/stats: a webhook's deliveries created in [:start, :end), by time bucket, status and
-- whether they were attempted. A delivery's id begins with its creation time (never an
-- earlier one), so `id >= :first` (the least id of :start) narrows the walk of
-- deliveries_by_webhook_status to the window, one status after another (migration 009).
SELECT (created_at - :start) / :size AS bucket, status, attempts > 0 AS tried, count(*) AS n
  FROM deliveries
 WHERE webhook_id = :webhook AND status IN ('pending', 'delivered', 'failed')
   AND id >= :first AND created_at >= :start AND created_at < :end
 GROUP BY 1, 2, 3;

-- name: stats_latency
-- Their attempts made in the window, by time bucket and duration (the percentiles are
-- worked out from these counts: domain/stats.py).
SELECT (a.attempted_at - :start) / :size AS bucket, a.duration_ms AS ms, count(*) AS n
  FROM deliveries d JOIN attempts a ON a.delivery_id = d.id
 WHERE d.webhook_id = :webhook AND d.status IN ('pending', 'delivered', 'failed')
   AND d.id >= :first AND d.created_at >= :start AND d.created_at < :end
   AND a.attempted_at >= :start AND a.attempted_at < :end
 GROUP BY 1, 2;
