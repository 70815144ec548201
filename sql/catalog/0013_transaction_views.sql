-- Views created and dropped by transaction blocks, as tables are (0012): created_in for a view
-- only its transaction sees until COMMIT; dropped_in and dropped_name for one it set aside.
ALTER TABLE views ADD COLUMN created_in INTEGER;
ALTER TABLE views ADD COLUMN dropped_in INTEGER;
ALTER TABLE views ADD COLUMN dropped_name TEXT;
CREATE INDEX views_set_aside ON views(bucket_id, dropped_name) WHERE dropped_in IS NOT NULL;
