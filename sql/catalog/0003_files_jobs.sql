-- Files on the REST sidecar (uploads and exports) and asynchronous jobs.

CREATE TABLE files (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    -- 'uploading' until the whole body is on disk and verified; then 'ready'
    state        TEXT    NOT NULL CHECK (state IN ('uploading', 'ready')),
    size         INTEGER NOT NULL DEFAULT 0,
    sha256       TEXT    NOT NULL DEFAULT '',
    tags         TEXT    NOT NULL DEFAULT '[]',
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL
);
CREATE INDEX files_by_project ON files(project_id, id);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id   INTEGER REFERENCES projects(id) ON DELETE CASCADE,
    procedure    TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('waiting', 'processing', 'success', 'error')),
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    -- the answer's single row as JSON, or the error as {sqlstate, message}
    result       TEXT,
    error        TEXT
);
CREATE INDEX jobs_by_project ON jobs(project_id, id);
