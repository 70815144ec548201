-- Views: a stored query over tables and views, in a bucket beside its tables (one namespace).
-- The query is expanded, and authorized, as the reading session each time the view is read.
CREATE TABLE views (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket_id    INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    -- the query as the gateway rendered it (validated, one SELECT, no parameters)
    definition   TEXT    NOT NULL,
    -- [[name, type], …] as DuckDB bound the query when the view was created
    columns      TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL,
    UNIQUE (bucket_id, name)
);

-- A dev branch may drop a default-branch view in the branch only, as it does tables.
CREATE TABLE branch_hidden_new (
    branch_id    INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    object_type  TEXT    NOT NULL CHECK (object_type IN ('bucket', 'table', 'view')),
    object_id    INTEGER NOT NULL,
    PRIMARY KEY (branch_id, object_type, object_id)
);
INSERT INTO branch_hidden_new (branch_id, object_type, object_id)
    SELECT branch_id, object_type, object_id FROM branch_hidden;
DROP TABLE branch_hidden;
ALTER TABLE branch_hidden_new RENAME TO branch_hidden;
