-- The producer outbox, in the application's own database (`webhookd outbox install`).
-- An application publishes with webhookd_outbox.publish(...) inside its own transaction;
-- `webhookd relay` moves committed rows into webhookd and deletes them.

CREATE TABLE webhookd_outbox.events (
    id              bigserial PRIMARY KEY,
    -- webhookd's idempotency key for the event: the publisher's, or one made here, so a
    -- relay that dies after publishing and before deleting publishes it again as a no-op.
    idempotency_key text NOT NULL,
    tenant_id       text NOT NULL,
    event           text NOT NULL,
    data            jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Rows that can never be published (an event type no longer in the catalog, say):
-- the relay moves them here with the reason, and goes on.
CREATE TABLE webhookd_outbox.dead (
    id              bigint PRIMARY KEY,
    idempotency_key text NOT NULL,
    tenant_id       text NOT NULL,
    event           text NOT NULL,
    data            jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    failed_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason          text NOT NULL
);

CREATE FUNCTION webhookd_outbox.publish(
    tenant_id text, event text, data jsonb, idempotency_key text DEFAULT NULL
) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    key text := coalesce(idempotency_key, 'obx_' || replace(gen_random_uuid()::text, '-', ''));
BEGIN
    IF tenant_id IS NULL OR length(tenant_id) NOT BETWEEN 1 AND 255 THEN
        RAISE EXCEPTION 'webhookd_outbox.publish: tenant_id must be 1 to 255 characters'
            USING ERRCODE = '22023';
    END IF;
    IF event IS NULL OR event = '' THEN
        RAISE EXCEPTION 'webhookd_outbox.publish: event must name an event type'
            USING ERRCODE = '22023';
    END IF;
    IF data IS NULL THEN
        RAISE EXCEPTION 'webhookd_outbox.publish: data must not be NULL (use ''{}''::jsonb)'
            USING ERRCODE = '22023';
    END IF;
    IF length(key) NOT BETWEEN 1 AND 255 THEN
        RAISE EXCEPTION 'webhookd_outbox.publish: idempotency_key must be 1 to 255 characters'
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO webhookd_outbox.events (idempotency_key, tenant_id, event, data)
        VALUES (key, tenant_id, event, data);
    -- Delivered at commit, once per transaction however many rows it publishes.
    PERFORM pg_notify('webhookd_outbox', '');
    RETURN key;
END
$$;
