-- Workspaces: isolated DuckDB databases for transformations, reached over the Postgres port
-- with their own credentials (user ws_<id>; only SCRAM verifiers are stored).

CREATE TABLE workspaces (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id         INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    branch_id          INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    name               TEXT    NOT NULL,
    scram_salt         BLOB    NOT NULL,
    scram_iterations   INTEGER NOT NULL,
    scram_stored_key   BLOB    NOT NULL,
    scram_server_key   BLOB    NOT NULL,
    size_limit         INTEGER NOT NULL,
    read_only_storage  INTEGER NOT NULL DEFAULT 0 CHECK (read_only_storage IN (0, 1)),
    created_at         INTEGER NOT NULL,
    created_by         TEXT    NOT NULL,
    expires_at         INTEGER,
    password_reset_at  INTEGER,
    UNIQUE (project_id, branch_id, name)
);
