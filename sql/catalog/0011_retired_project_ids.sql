-- Ids of dropped projects: never given to another project, so nothing that names the old id
-- (audit events, a client's cached id, a share) can ever mean the new one.
CREATE TABLE retired_project_ids (
    id          INTEGER PRIMARY KEY,
    dropped_at  INTEGER NOT NULL
);
-- Projects dropped before this migration left their events behind: their ids are retired too.
INSERT OR IGNORE INTO retired_project_ids (id, dropped_at)
    SELECT DISTINCT project_id, 0 FROM events
    WHERE project_id IS NOT NULL AND project_id NOT IN (SELECT id FROM projects);
