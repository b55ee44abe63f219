-- Endpoint controls (issue 16): custom headers and authentication per webhook.
-- headers: a JSON object of header names to values, sent with every request.
-- auth: NULL, or a JSON object of what may be shown ({"type", "username"|"name"|
-- "clientId", "tokenUrl", "scope"}) and "sealed", its one secret sealed (Fernet).
ALTER TABLE webhooks ADD COLUMN headers text NOT NULL DEFAULT '{}';
ALTER TABLE webhooks ADD COLUMN auth text;
