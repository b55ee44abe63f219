-- A publish writes one entry into every index of `deliveries` keyed by webhook, and a
-- fan-out to 240 webhooks touches a different page of each such index per webhook:
-- on SQLite each is ~330 pages (1.3 MB) more for the WAL and the checkpoint per publish,
-- a third of a 240-endpoint publish's time, with the writer held (docs/performance.md,
-- "Sixth round"). The stats (GET …/stats) need no index of their own: delivery ids
-- begin with their creation time, so deliveries_by_webhook_status (webhook_id, status,
-- id) gives a webhook's deliveries since a time, status by status, and the stats read
-- created_at and attempts from the rows they find, as they did with this index.
-- (PostgreSQL keeps its index-only stats index: there a settle writes every index anyway.)
DROP INDEX deliveries_stats;
