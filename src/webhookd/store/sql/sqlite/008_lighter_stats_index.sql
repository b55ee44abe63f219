-- The stats index of 004 had status and attempts as keys (SQLite has no INCLUDE), and
-- every settle changes them: each result then moved an index entry besides writing the
-- row. Keyed on what never changes after the insert, it costs the insert alone; the
-- stats read status and attempts from the rows it finds. (PostgreSQL keeps its INCLUDE
-- index: a settle there writes a new entry into every index of the row anyway, since
-- status is already a key of deliveries_by_webhook_status, and its counts stay
-- index-only.)
DROP INDEX deliveries_stats;
CREATE INDEX deliveries_stats ON deliveries (webhook_id, created_at);
