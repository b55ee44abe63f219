-- Every statement the PostgreSQL engine runs, by name (see store/queries.py).
-- Parameters are named (:name) and become $1, $2, ... ; times are epoch milliseconds.
-- A list parameter is a native array (programs.py). Where its length would size the plan
-- (a membership test, rows joined to a table), it is read through a subquery,
-- `ARRAY(SELECT unnest(:ids::text[]))` or `(SELECT :ids::text[])`: with the length in
-- sight, PostgreSQL plans the statement again on every call (a custom plan), measured
-- 10-40 µs more each than the one generic plan it keeps otherwise.

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
   SET url = coalesce(:url::text, url), events = coalesce(:events::text, events),
       description = coalesce(:description::text, description),
       rate_limit = CASE WHEN :rate_limit::integer IS NULL THEN rate_limit
                         WHEN :rate_limit::integer = 0 THEN NULL ELSE :rate_limit::integer END,
       fifo = coalesce(:fifo::boolean, fifo),
       headers = coalesce(:headers::text, headers),
       auth = CASE WHEN :auth_set::boolean THEN :auth::text ELSE auth END
 WHERE tenant_id = :tenant AND id = :id;

-- name: toggle_webhook
-- Enabling clears what webhookd recorded about why it was disabled, and closes the circuit.
UPDATE webhooks
   SET active = NOT active, disabled_reason = NULL,
       failing_since = CASE WHEN active THEN failing_since ELSE NULL END,
       circuit_failures = CASE WHEN active THEN circuit_failures ELSE 0 END,
       circuit_trips = CASE WHEN active THEN circuit_trips ELSE 0 END,
       circuit_until = CASE WHEN active THEN circuit_until ELSE NULL END
 WHERE tenant_id = :tenant AND id = :id;

-- name: rotate_secret
UPDATE webhooks SET secret = :secret, old_secrets = :old_secrets
 WHERE tenant_id = :tenant AND id = :id;

-- name: delete_webhook
DELETE FROM webhooks WHERE tenant_id = :tenant AND id = :id;

-- name: touch_webhook
UPDATE webhooks SET last_triggered_at = greatest(coalesce(last_triggered_at, 0), :at::bigint)
 WHERE id = :id;

-- name: webhook_triggered
-- A settle batch's attempts moved these webhooks' clocks (worked out by the settle, which
-- holds their rows). A "many" statement: each parameter is the array of that column.
-- With them, what the operator has been told (domain/operator.py), and the last success
-- and failure.
UPDATE webhooks AS w
   SET last_triggered_at = greatest(coalesce(w.last_triggered_at, 0), t.at),
       failing_since = t.failing_since,
       last_success_at = greatest(w.last_success_at, t.success_at),  -- NULLs ignored
       last_failure_at = greatest(w.last_failure_at, t.failure_at),
       ops_failing_notified = t.failing_notified, ops_recovery_owed = t.recovery_owed,
       ops_exhausted_at = t.exhausted_at, ops_exhausted_unsent = t.exhausted_unsent
  FROM unnest(:at::bigint[], :failing_since::bigint[], :success_at::bigint[],
              :failure_at::bigint[], :failing_notified::integer[], :recovery_owed::boolean[],
              :exhausted_at::bigint[], :exhausted_unsent::integer[], :id::text[])
       AS t (at, failing_since, success_at, failure_at, failing_notified, recovery_owed,
             exhausted_at, exhausted_unsent, id)
 WHERE w.id = t.id;

-- name: webhook_succeeded
UPDATE webhooks SET failing_since = NULL WHERE id = :id AND failing_since IS NOT NULL;

-- name: disable_webhook
UPDATE webhooks SET active = false, disabled_reason = :reason WHERE id = :id AND active
RETURNING tenant_id;

-- name: find_idempotent
-- The events named by the pairs (:tenants[i], :keys[i]) (one index probe each).
SELECT e.tenant_id, e.idempotency_key, e.id, e.deliveries, e.created_at, e.request_hash
  FROM unnest((SELECT :tenants::text[]), (SELECT :keys::text[])) AS k (tenant, key)
  JOIN events e ON e.tenant_id = k.tenant AND e.idempotency_key = k.key
                AND e.idempotency_key IS NOT NULL;

-- name: forget_idempotency_key
UPDATE events SET idempotency_key = NULL WHERE id = :id;

-- name: active_webhooks
-- KEY SHARE: a webhook deleted while this publish runs waits for it, instead of the
-- publish failing on the deliveries' foreign key. Updates (toggle, settle) don't wait.
SELECT id, events, fifo, payload_filter FROM webhooks
 WHERE tenant_id = :tenant AND active ORDER BY id
   FOR KEY SHARE;

-- name: lock_fifo
-- A publish to webhooks that deliver in order locks them, in id order, and reads the id
-- of the newest delivery made for each: its new deliveries' ids sort after it, so ids
-- follow the order publishes commit in. NO KEY UPDATE waits for another publish of the
-- same webhook, and not for the KEY SHARE that active_webhooks took (ours or theirs).
SELECT id, fifo_last FROM webhooks
 WHERE id = ANY (ARRAY(SELECT unnest(:ids::text[])))
 ORDER BY id FOR NO KEY UPDATE;

-- name: set_fifo_last
-- A "many" statement: each parameter is the array of that column over the batch.
UPDATE webhooks AS w SET fifo_last = t.last
  FROM unnest(:last::text[], :id::text[]) AS t (last, id)
 WHERE w.id = t.id;

-- name: fifo_head
-- The head of the webhook's queue if it delivers in order (none otherwise): its oldest
-- pending delivery (a manual resend goes out of order and is not in the queue).
SELECT id FROM deliveries
 WHERE webhook_id = ANY (ARRAY[:webhook::text]) AND status = 'pending' AND NOT manual
   AND EXISTS (SELECT 1 FROM webhooks WHERE id = :webhook AND fifo)
 ORDER BY webhook_id, status, id LIMIT 1;

-- name: insert_event
INSERT INTO events (id, tenant_id, type, body, idempotency_key, request_hash, deliveries,
                    created_at)
VALUES (:id, :tenant, :type, :body, :key, :request_hash, :deliveries, :created_at);

-- name: insert_events
-- A "many" statement: each parameter is the array of that column over the batch.
INSERT INTO events (id, tenant_id, type, body, idempotency_key, request_hash, deliveries,
                    created_at)
SELECT id, tenant, type, body, key, request_hash, deliveries, created_at
  FROM unnest(:id::text[], :tenant::text[], :type::text[], :body::bytea[], :key::text[],
              :request_hash::text[], :deliveries::integer[], :created_at::bigint[])
       AS t (id, tenant, type, body, key, request_hash, deliveries, created_at)
 ORDER BY id;

-- name: insert_delivery
-- A "many" statement: each parameter is the array of that column over the batch.
INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, attempts,
                        next_attempt_at, manual, created_at)
SELECT id, event_id, webhook_id, tenant, type, status, attempts, at, manual, at
  FROM unnest(:id::text[], :event_id::text[], :webhook_id::text[], :tenant::text[],
              :type::text[], :status::text[], :attempts::integer[], :at::bigint[],
              :manual::boolean[])
       AS t (id, event_id, webhook_id, tenant, type, status, attempts, at, manual)
 ORDER BY id;

-- name: insert_tested_delivery
INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, attempts,
                        next_attempt_at, manual, created_at, last_attempt_at, last_http_status)
VALUES (:id, :event_id, :webhook_id, :tenant, :type, :status, 1, :at, :manual, :at, :at,
        :http_status);

-- name: due
-- Both lanes of a claim, picked per webhook. For each webhook not excluded (at its cap
-- in this worker, outside :only when given, or paused by its circuit), up to its room
-- (:rooms[i] for webhook :room_ids[i], :room for one not named; never above
-- :per_webhook) of its oldest due retries and first attempts, each from a partial index
-- led by webhook_id: the backlog of an excluded webhook is never read. Of those, the
-- oldest :retry_limit retries and :first_limit first attempts, with what the claim
-- needs to know of their webhook. Rows another worker is claiming are skipped.
-- A webhook that delivers in order (fifo) gives only the head of its queue (the third
-- part: its oldest pending delivery, if due and not leased), and manual resends, which
-- go out of order. The head is locked where it is: when another worker holds it, the
-- webhook gives nothing (SKIP LOCKED on the head alone never moves on to the next one).
WITH hooks AS (
    SELECT w.id, w.rate_limit, w.circuit_until, w.fifo,
           least(:per_webhook::integer, coalesce(r.room, :room::integer)) AS room
      FROM webhooks w
      LEFT JOIN unnest((SELECT :room_ids::text[]), (SELECT :rooms::integer[])) AS r (id, room)
             ON r.id = w.id
     WHERE w.id <> ALL (ARRAY(SELECT unnest(:excluded::text[])))
       AND (:only::text[] IS NULL OR w.id = ANY (ARRAY(SELECT unnest(:only::text[]))))
       AND (w.circuit_until IS NULL OR w.circuit_until <= :now)
)
(SELECT d.id, h.id AS webhook_id, true AS retry, h.rate_limit, h.circuit_until
   FROM hooks h CROSS JOIN LATERAL (
        SELECT id, next_attempt_at FROM deliveries
         WHERE webhook_id = h.id AND status = 'pending' AND attempts > 0
           AND next_attempt_at <= :now AND (locked_until IS NULL OR locked_until < :now)
           AND (NOT h.fifo OR manual)
         ORDER BY next_attempt_at LIMIT h.room
           FOR UPDATE SKIP LOCKED) AS d
  ORDER BY d.next_attempt_at LIMIT :retry_limit)
UNION ALL
(SELECT d.id, h.id, false, h.rate_limit, h.circuit_until
   FROM hooks h CROSS JOIN LATERAL (
        SELECT id, next_attempt_at FROM deliveries
         WHERE webhook_id = h.id AND status = 'pending' AND attempts = 0
           AND next_attempt_at <= :now AND (locked_until IS NULL OR locked_until < :now)
           AND NOT h.fifo
         ORDER BY next_attempt_at LIMIT h.room
           FOR UPDATE SKIP LOCKED) AS d
  ORDER BY d.next_attempt_at LIMIT :first_limit)
UNION ALL
(SELECT d.id, h.id, d.attempts > 0, h.rate_limit, h.circuit_until
   FROM hooks h CROSS JOIN LATERAL (
        SELECT x.id, x.attempts FROM deliveries x
         WHERE x.id = (SELECT y.id FROM deliveries y
                        WHERE y.webhook_id = ANY (ARRAY[h.id]) AND y.status = 'pending'
                          AND NOT y.manual
                        ORDER BY y.webhook_id, y.status, y.id LIMIT 1)
           AND x.status = 'pending' AND x.next_attempt_at <= :now
           AND (x.locked_until IS NULL OR x.locked_until < :now)
           FOR UPDATE SKIP LOCKED) AS d
  WHERE h.fifo AND h.room > 0);

-- name: webhook_claimed
-- A claim took tokens of these webhooks' rate limits, or sent a half-open circuit's probe.
-- A "many" statement: each parameter is the array of that column over the batch.
UPDATE webhooks AS w
   SET rate_tokens = coalesce(t.tokens, w.rate_tokens), rate_at = coalesce(t.at, w.rate_at),
       circuit_until = coalesce(t.probe_until, w.circuit_until)
  FROM unnest(:tokens::double precision[], :at::bigint[], :probe_until::bigint[], :id::text[])
       AS t (tokens, at, probe_until, id)
 WHERE w.id = t.id;

-- name: set_circuit
-- A "many" statement: each parameter is the array of that column over the batch.
UPDATE webhooks AS w
   SET circuit_failures = t.failures, circuit_trips = t.trips, circuit_until = t.until
  FROM unnest(:failures::integer[], :trips::integer[], :until::bigint[], :id::text[])
       AS t (failures, trips, until, id)
 WHERE w.id = t.id;

-- name: lease_jobs
-- Lease the picked deliveries and return each with what sending it needs.
WITH leased AS (
    UPDATE deliveries SET locked_until = :until, lease_token = :token
     WHERE id = ANY (ARRAY(SELECT unnest(:ids::text[])))
    RETURNING id, webhook_id, event_id, event_type, attempts, manual
)
SELECT l.id, l.webhook_id, l.event_type, l.attempts, l.manual, w.url, w.secret,
       w.old_secrets, w.active, w.fifo, w.headers, w.auth, e.body
  FROM leased l
  JOIN webhooks w ON w.id = l.webhook_id
  JOIN events e ON e.id = l.event_id;

-- name: lease_holders
-- Who holds each lease of a settle batch; locked until the batch commits.
SELECT id, lease_token FROM deliveries
 WHERE id = ANY (ARRAY(SELECT unnest(:ids::text[])))
 ORDER BY id
   FOR UPDATE;

-- name: settle
-- Applies only while the caller still holds the lease.
-- A "many" statement: each parameter is the array of that column over the batch. The
-- rows are already locked (lease_holders, in id order), so the join order is harmless.
UPDATE deliveries AS d
   SET status = t.status, next_attempt_at = coalesce(t.next_at, d.next_attempt_at),
       attempts = d.attempts + t.attempted, last_attempt_at = coalesce(t.at, d.last_attempt_at),
       last_http_status = coalesce(t.http_status, d.last_http_status),
       locked_until = NULL, lease_token = NULL
  FROM unnest(:status::text[], :next_at::bigint[], :attempted::integer[], :at::bigint[],
              :http_status::integer[], :id::text[], :token::text[])
       AS t (status, next_at, attempted, at, http_status, id, token)
 WHERE d.id = t.id AND d.lease_token = t.token;

-- name: record_attempt
-- A "many" statement: each parameter is the array of that column over the batch.
INSERT INTO attempts (delivery_id, attempted_at, duration_ms, http_status, error,
                      response_excerpt, request_headers)
SELECT * FROM unnest(:delivery_id::text[], :at::bigint[], :duration_ms::integer[],
                     :http_status::integer[], :error::text[], :excerpt::text[],
                     :headers::text[]);

-- name: list_deliveries
-- The delivery log, newest first: every status in turn, each on the index
-- (webhook_id, status, id), merged. A (webhook_id, id) index would serve this
-- query alone, and cost every fan-out row of every publish one more insert.
-- `= ANY (ARRAY[…])` and the ORDER BY on the index's leading columns keep
-- the planner on that index even for a webhook with millions of old
-- deliveries (a plain `=` lets it walk the primary key instead).
SELECT * FROM (
  SELECT * FROM (SELECT * FROM deliveries
                  WHERE webhook_id = ANY (ARRAY[:webhook::text]) AND status = 'pending'
                    AND id < :before AND tenant_id = :tenant
                  ORDER BY webhook_id DESC, status DESC, id DESC LIMIT :limit) AS pending
  UNION ALL
  SELECT * FROM (SELECT * FROM deliveries
                  WHERE webhook_id = ANY (ARRAY[:webhook::text]) AND status = 'delivered'
                    AND id < :before AND tenant_id = :tenant
                  ORDER BY webhook_id DESC, status DESC, id DESC LIMIT :limit) AS delivered
  UNION ALL
  SELECT * FROM (SELECT * FROM deliveries
                  WHERE webhook_id = ANY (ARRAY[:webhook::text]) AND status = 'failed'
                    AND id < :before AND tenant_id = :tenant
                  ORDER BY webhook_id DESC, status DESC, id DESC LIMIT :limit) AS failed
) AS log ORDER BY id DESC LIMIT :limit;

-- name: list_deliveries_by_status
SELECT * FROM deliveries
 WHERE webhook_id = ANY (ARRAY[:webhook::text]) AND status = :status
   AND id < :before AND tenant_id = :tenant
 ORDER BY webhook_id DESC, id DESC LIMIT :limit;

-- name: list_deliveries_by_event
SELECT * FROM (
  SELECT * FROM (SELECT * FROM deliveries
                  WHERE webhook_id = ANY (ARRAY[:webhook::text]) AND status = 'pending'
                    AND id < :before AND tenant_id = :tenant AND event_type = :event
                  ORDER BY webhook_id DESC, status DESC, id DESC LIMIT :limit) AS pending
  UNION ALL
  SELECT * FROM (SELECT * FROM deliveries
                  WHERE webhook_id = ANY (ARRAY[:webhook::text]) AND status = 'delivered'
                    AND id < :before AND tenant_id = :tenant AND event_type = :event
                  ORDER BY webhook_id DESC, status DESC, id DESC LIMIT :limit) AS delivered
  UNION ALL
  SELECT * FROM (SELECT * FROM deliveries
                  WHERE webhook_id = ANY (ARRAY[:webhook::text]) AND status = 'failed'
                    AND id < :before AND tenant_id = :tenant AND event_type = :event
                  ORDER BY webhook_id DESC, status DESC, id DESC LIMIT :limit) AS failed
) AS log ORDER BY id DESC LIMIT :limit;

-- name: list_deliveries_by_status_and_event
SELECT * FROM deliveries
 WHERE webhook_id = ANY (ARRAY[:webhook::text]) AND status = :status
   AND id < :before AND tenant_id = :tenant AND event_type = :event
 ORDER BY webhook_id DESC, id DESC LIMIT :limit;

-- name: get_delivery
SELECT d.*, e.body FROM deliveries d JOIN events e ON e.id = d.event_id
 WHERE d.tenant_id = :tenant AND d.webhook_id = :webhook AND d.id = :id;

-- name: lock_delivery
SELECT d.*, e.body FROM deliveries d JOIN events e ON e.id = d.event_id
 WHERE d.tenant_id = :tenant AND d.webhook_id = :webhook AND d.id = :id
   FOR UPDATE OF d;

-- name: attempts_of
SELECT * FROM attempts WHERE delivery_id = :id ORDER BY id;

-- name: resend
-- Due now. A failed or delivered delivery gets one more attempt (manual); a pending
-- one keeps its place in its own retry chain, just sooner.
UPDATE deliveries
   SET next_attempt_at = :now, manual = CASE WHEN status = 'pending' THEN manual ELSE true END,
       status = 'pending'
 WHERE id = :id;

-- name: recover
UPDATE deliveries SET status = 'pending', next_attempt_at = :now, manual = true
 WHERE id IN (SELECT id FROM deliveries
               WHERE webhook_id = :webhook AND status = 'failed' AND event_type <> 'test'
                 AND created_at >= :since AND created_at < :until
               ORDER BY created_at LIMIT :limit
                 FOR UPDATE SKIP LOCKED);

-- name: purge
-- Oldest events first, only those with nothing left to send; deliveries and attempts
-- go with them (ON DELETE CASCADE). Rows locked elsewhere are left for the next batch.
DELETE FROM events WHERE id IN (
    SELECT e.id FROM events e
     WHERE e.created_at < :before
       AND NOT EXISTS (SELECT 1 FROM deliveries d
                        WHERE d.event_id = e.id AND d.status = 'pending')
     ORDER BY e.created_at LIMIT :batch
       FOR UPDATE SKIP LOCKED);

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
SELECT count(*) FILTER (WHERE circuit_until IS NOT NULL) AS paused,
       count(*) FILTER (WHERE circuit_until IS NULL
                          AND (failing_since IS NOT NULL OR circuit_failures > 0)) AS failing,
       count(*) FILTER (WHERE circuit_until IS NULL AND failing_since IS NULL
                          AND circuit_failures = 0) AS healthy
  FROM webhooks WHERE active;

-- name: auto_disabled_webhooks
SELECT count(*) AS disabled FROM webhooks WHERE NOT active AND disabled_reason IS NOT NULL;

-- name: lock_webhook
-- A read-modify-write of one webhook (rotate) holds its row until commit.
SELECT id FROM webhooks WHERE tenant_id = :tenant AND id = :id FOR NO KEY UPDATE;

-- name: lock_key
-- Transactions about one (tenant, key) wait for each other: creates counted against
-- the tenant's webhook limit; publishes with one idempotency key (lock_keys: the second
-- finds the first's event instead of colliding with it on the unique index).
SELECT pg_advisory_xact_lock(hashtext(:tenant::text || chr(31) || :key::text));

-- name: lock_keys
-- lock_key for each pair (:tenants[i], :keys[i]), in the order of the locks themselves
-- (the plan sorts the hashes, then locks): two transactions that lock some of the same
-- keys take them in one order, and so never deadlock.
SELECT pg_advisory_xact_lock(h)
  FROM (SELECT DISTINCT hashtext(tenant || chr(31) || key) AS h
          FROM unnest((SELECT :tenants::text[]), (SELECT :keys::text[])) AS k (tenant, key)
       ) AS locks
 ORDER BY h;

-- name: count_webhooks
SELECT count(*) AS n FROM webhooks WHERE tenant_id = :tenant;

-- name: lock_webhooks
-- A settle batch locks its webhooks first, in id order, then its deliveries: the order
-- DELETE FROM webhooks takes them (the row, then its cascade), so the two cannot deadlock.
SELECT id, tenant_id, active, rate_limit, rate_tokens, rate_at, circuit_failures,
       circuit_trips, circuit_until, failing_since, ops_failing_notified, ops_recovery_owed,
       ops_exhausted_at, ops_exhausted_unsent
  FROM webhooks
 WHERE id = ANY (ARRAY(SELECT unnest(:ids::text[])))
 ORDER BY id FOR NO KEY UPDATE;

-- name: try_lock_webhooks
-- A claim locks the webhooks whose rate limit or half-open circuit it is about to use,
-- skipping any another transaction holds (a settle of that webhook's results): the
-- claim takes none of those this time rather than wait, since every other tenant's
-- deliveries in the same claim would wait with it (measured: 440 ms behind settles of
-- 200 timed-out attempts). The claim comes back for them shortly.
SELECT id, active, rate_limit, rate_tokens, rate_at, circuit_failures, circuit_trips,
       circuit_until, failing_since
  FROM webhooks
 WHERE id = ANY (ARRAY(SELECT unnest(:ids::text[])))
 ORDER BY id FOR NO KEY UPDATE SKIP LOCKED;

-- name: set_webhook_filter
-- A webhook's payload filter (domain/filters.py): its JSON text, or NULL for none.
UPDATE webhooks SET payload_filter = :filter::text WHERE tenant_id = :tenant AND id = :id;

-- name: set_operator
-- The operator's webhook (domain/operator.py), as the settings give it at start.
INSERT INTO webhooks (id, tenant_id, url, events, description, secret, active, created_at)
VALUES (:id, :tenant, :url, :events, :description, :secret, true, :created_at)
ON CONFLICT (id) DO UPDATE
   SET url = excluded.url, events = excluded.events, description = excluded.description,
       secret = excluded.secret, old_secrets = '[]', active = true, disabled_reason = NULL;

-- name: stats_counts
-- GET …/stats: a webhook's deliveries created in [:start, :end), by time bucket, status and
-- whether they were attempted, from the index deliveries_stats alone (an index-only scan).
SELECT (created_at - :start::bigint) / :size::bigint AS bucket, status, attempts > 0 AS tried,
       count(*) AS n
  FROM deliveries
 WHERE webhook_id = :webhook AND created_at >= :start::bigint AND created_at < :end::bigint
 GROUP BY 1, 2, 3;

-- name: stats_latency
-- Their attempts made in the window, by time bucket and duration (the percentiles are
-- worked out from these counts: domain/stats.py).
SELECT (a.attempted_at - :start::bigint) / :size::bigint AS bucket, a.duration_ms AS ms,
       count(*) AS n
  FROM deliveries d JOIN attempts a ON a.delivery_id = d.id
 WHERE d.webhook_id = :webhook AND d.created_at >= :start::bigint AND d.created_at < :end::bigint
   AND a.attempted_at >= :start::bigint AND a.attempted_at < :end::bigint
 GROUP BY 1, 2;
