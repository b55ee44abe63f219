"""`make bench`: webhookd measured against this machine's own limit (docs/performance.md)."""
