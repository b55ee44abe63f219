-- Webhooks, events, the delivery outbox and its attempt log. Times: epoch milliseconds.
CREATE TABLE webhooks (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    url               TEXT NOT NULL,
    events            TEXT NOT NULL,            -- JSON array of types, or ["*"]
    description       TEXT NOT NULL DEFAULT '',
    secret            TEXT NOT NULL,
    active            INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    last_triggered_at INTEGER
);
-- list a tenant's webhooks; fan-out of a tenant's event
CREATE INDEX webhooks_by_tenant ON webhooks (tenant_id, id);

CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    type            TEXT NOT NULL,
    body            BLOB NOT NULL,              -- the exact bytes every delivery sends
    idempotency_key TEXT,
    deliveries      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_by_idempotency_key
    ON events (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL,             -- pending | delivered | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,
    lease_token      TEXT,
    created_at       INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    last_http_status INTEGER
);
-- the claim: due pending deliveries in order of due time
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
-- a webhook's delivery log, newest first
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_by_event ON deliveries (event_id);

CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at     INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    http_status      INTEGER,
    error            TEXT,
    response_excerpt TEXT NOT NULL DEFAULT ''
);
CREATE INDEX attempts_by_delivery ON attempts (delivery_id, id);
