-- A webhook's payload filter (domain/filters.py), as the JSON text it was checked as; NULL:
-- every event of its subscribed types. The publish's fan-out reads it with `events`.
ALTER TABLE webhooks ADD COLUMN payload_filter TEXT;
