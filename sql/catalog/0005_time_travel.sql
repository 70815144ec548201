-- Time travel: when each table version became current, and the interval a kept version
-- answered for (history versions are snapshots with trigger 'time_travel').

ALTER TABLE tables ADD COLUMN version_since INTEGER NOT NULL DEFAULT 0;
UPDATE tables SET version_since = created_at;

ALTER TABLE snapshots ADD COLUMN valid_from INTEGER;
ALTER TABLE snapshots ADD COLUMN valid_to INTEGER;
-- the last change written into the version: its content is the table's state at any instant
-- in [last_write_at, valid_to)
ALTER TABLE snapshots ADD COLUMN last_write_at INTEGER;
