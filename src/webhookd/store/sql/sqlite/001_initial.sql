-- Webhooks, events, the delivery outbox and its attempt log. Times: epoch milliseconds.
CREATE TABLE webhooks (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    url               TEXT NOT NULL,
    events            TEXT NOT NULL,            -- JSON array of types, or ["*"]
    description       TEXT NOT NULL DEFAULT '',
    secret            TEXT NOT NULL,             -- sealed (Fernet)
    old_secrets       TEXT NOT NULL DEFAULT '[]', -- rotated-out secrets in their grace period
    active            INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    last_triggered_at INTEGER,
    failing_since     INTEGER,                  -- first failed attempt since the last success
    disabled_reason   TEXT                      -- why webhookd disabled it; NULL when enabled
);
-- list a tenant's webhooks; fan-out of a tenant's event
CREATE INDEX webhooks_by_tenant ON webhooks (tenant_id, id);

CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    type            TEXT NOT NULL,
    body            BLOB NOT NULL,              -- the exact bytes every delivery sends
    idempotency_key TEXT,
    request_hash    TEXT,                       -- of type + data, to refuse a reused key
    deliveries      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_by_idempotency_key
    ON events (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- retention: the oldest events first
CREATE INDEX events_by_age ON events (created_at);

CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL,             -- pending | delivered | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,                   -- leased to a worker until then
    lease_token      TEXT,
    manual           INTEGER NOT NULL DEFAULT 0, -- a one-off resend: no retry chain follows
    created_at       INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    last_http_status INTEGER
);
-- the claim, in two lanes so a retry backlog cannot delay first attempts
CREATE INDEX deliveries_due_first ON deliveries (next_attempt_at, webhook_id)
    WHERE status = 'pending' AND attempts = 0;
CREATE INDEX deliveries_due_retry ON deliveries (next_attempt_at, webhook_id)
    WHERE status = 'pending' AND attempts > 0;
-- a webhook's delivery log, newest first (ids sort by creation time)
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
-- the same, filtered by status
CREATE INDEX deliveries_by_webhook_status ON deliveries (webhook_id, status, id);
-- recover: a webhook's failed deliveries in a time window
CREATE INDEX deliveries_failed ON deliveries (webhook_id, created_at) WHERE status = 'failed';
CREATE INDEX deliveries_by_event ON deliveries (event_id);

CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at     INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    http_status      INTEGER,
    error            TEXT,
    response_excerpt TEXT NOT NULL DEFAULT '',
    request_headers  TEXT NOT NULL DEFAULT '{}' -- JSON; signatures, never secrets
);
CREATE INDEX attempts_by_delivery ON attempts (delivery_id, id);

-- Append-only: who changed what, when (secrets excluded).
CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,              -- aud_…, sorts by time
    tenant_id  TEXT NOT NULL,
    actor      TEXT NOT NULL,                 -- the token's subject, or "webhookd"
    action     TEXT NOT NULL,                 -- webhook.created, delivery.retried, …
    webhook_id TEXT,
    details    TEXT NOT NULL DEFAULT '{}',    -- JSON
    at         INTEGER NOT NULL
);
CREATE INDEX audit_by_tenant ON audit_log (tenant_id, id);
