-- Transaction blocks that create and drop tables (ADR 0012). A table created by a transaction
-- that has not committed carries its id in created_in and is seen by that transaction only; a
-- table such a transaction dropped carries it in dropped_in and, until the COMMIT deletes it,
-- waits under a name no client can write, its own kept in dropped_name: the transaction no
-- longer finds it, other sessions still do (and may take the name for a new table of their
-- own once it commits). Start-up recovery deletes the first and restores the second: a crash
-- rolls them back.
ALTER TABLE tables ADD COLUMN created_in INTEGER;
ALTER TABLE tables ADD COLUMN dropped_in INTEGER;
ALTER TABLE tables ADD COLUMN dropped_name TEXT;
CREATE INDEX tables_set_aside ON tables(bucket_id, dropped_name) WHERE dropped_in IS NOT NULL;
-- A bucket (schema) created by a transaction that has not committed, likewise.
ALTER TABLE buckets ADD COLUMN created_in INTEGER;
