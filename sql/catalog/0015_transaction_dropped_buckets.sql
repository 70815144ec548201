-- DROP SCHEMA inside a transaction block (ADR 0012): the bucket stays for everyone else until
-- COMMIT deletes it; the transaction that dropped it no longer sees it.
ALTER TABLE buckets ADD COLUMN dropped_in INTEGER;
