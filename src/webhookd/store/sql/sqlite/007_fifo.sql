-- Ordered delivery (ordering "fifo"): see the PostgreSQL migration of the same name.
-- SQLite has one writer, so publishes commit in the order they run; fifo_last still
-- keeps delivery ids in that order when the clock steps back.
ALTER TABLE webhooks ADD COLUMN fifo INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN fifo_last TEXT;
