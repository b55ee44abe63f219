-- A publish writes one row per subscribed webhook; each index on deliveries is one more
-- B-tree insert per row. The delivery log now reads (webhook_id, status, id) status by
-- status (queries.sql: list_deliveries), so (webhook_id, id) is no longer needed.
DROP INDEX deliveries_by_webhook;
