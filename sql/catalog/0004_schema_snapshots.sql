-- Table profiles, snapshots (kept table versions) and their settings.

CREATE TABLE table_profiles (
    table_id     INTEGER PRIMARY KEY REFERENCES tables(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL,
    -- the whole profile as JSON: per table and per column statistics and hints
    profile      TEXT    NOT NULL
);

-- A snapshot keeps one version file of a table, immutable from then on: writers copy it to a
-- new version before they change anything (copy-on-write). The definition is stored too, so a
-- snapshot outlives its table.
CREATE TABLE snapshots (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    branch_id     INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    -- the table the file belongs to (its id names the file's directory); kept after a drop
    table_id      INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    bucket        TEXT    NOT NULL,
    table_name    TEXT    NOT NULL,
    columns       TEXT    NOT NULL,
    primary_key   TEXT    NOT NULL,
    row_count     INTEGER NOT NULL,
    byte_count    INTEGER NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    -- NULL for a manual snapshot, else why it was taken (drop_table, drop_column, …)
    trigger       TEXT,
    created_at    INTEGER NOT NULL,
    created_by    TEXT    NOT NULL,
    expires_at    INTEGER
);
CREATE INDEX snapshots_by_table ON snapshots(table_id, version);
CREATE INDEX snapshots_by_project ON snapshots(project_id, id);
CREATE INDEX snapshots_by_expiry ON snapshots(expires_at) WHERE expires_at IS NOT NULL;

-- Snapshot settings by level: a row per (project, level, target, key); the system level is
-- built in. Values are JSON.
CREATE TABLE snapshot_settings (
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    level        TEXT    NOT NULL CHECK (level IN ('project', 'bucket', 'table')),
    -- '' for the project level, the bucket id (in.c-x) or the table id (in.c-x.t)
    target       TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL,
    updated_by   TEXT    NOT NULL,
    PRIMARY KEY (project_id, level, target, key)
);

-- The highest version number a table has used: new versions never reuse a kept one.
ALTER TABLE tables ADD COLUMN max_version INTEGER NOT NULL DEFAULT 1;
