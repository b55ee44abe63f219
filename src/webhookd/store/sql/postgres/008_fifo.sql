-- Ordered delivery (ordering "fifo"): a webhook whose deliveries go one at a time, in
-- the order their publishes committed. fifo_last is the id of the newest delivery made
-- for it while fifo was on: a publish locks the row and makes each new delivery's id
-- sort after it, so delivery ids follow commit order whatever the publishers' clocks.
-- The queue's head is the oldest pending delivery, read on deliveries_by_webhook_status.
ALTER TABLE webhooks ADD COLUMN fifo boolean NOT NULL DEFAULT false;
ALTER TABLE webhooks ADD COLUMN fifo_last text;
