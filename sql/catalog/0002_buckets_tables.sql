-- Buckets (schemas) and tables (one DuckDB file per table version), sharing and idempotency.

CREATE TABLE buckets (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id        INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    branch_id         INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    stage             TEXT    NOT NULL CHECK (stage IN ('in', 'out')),
    name              TEXT    NOT NULL,
    description       TEXT    NOT NULL DEFAULT '',
    -- 1: the project's read-only role (branch_read tokens) may read it
    read_grant        INTEGER NOT NULL DEFAULT 1 CHECK (read_grant IN (0, 1)),
    -- a linked bucket shows another project's shared bucket, read-only
    source_bucket_id  INTEGER REFERENCES buckets(id),
    created_at        INTEGER NOT NULL,
    created_by        TEXT    NOT NULL,
    UNIQUE (project_id, branch_id, stage, name)
);
CREATE INDEX buckets_by_source ON buckets(source_bucket_id) WHERE source_bucket_id IS NOT NULL;

CREATE TABLE tables (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket_id    INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    -- the file is <data>/tables/<project>/<id>/v<version>.duckdb
    version      INTEGER NOT NULL DEFAULT 1,
    primary_key  TEXT    NOT NULL DEFAULT '[]',
    row_count    INTEGER NOT NULL DEFAULT 0,
    byte_count   INTEGER NOT NULL DEFAULT 0,
    description  TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL,
    changed_at   INTEGER NOT NULL,
    UNIQUE (bucket_id, name)
);

CREATE TABLE columns (
    table_id     INTEGER NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    base_type    TEXT    NOT NULL,
    nullable     INTEGER NOT NULL DEFAULT 1 CHECK (nullable IN (0, 1)),
    default_sql  TEXT,
    PRIMARY KEY (table_id, name)
);

CREATE TABLE bucket_shares (
    bucket_id          INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    target_project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    created_at         INTEGER NOT NULL,
    created_by         TEXT    NOT NULL,
    PRIMARY KEY (bucket_id, target_project_id)
);

-- Answers of procedures called with an idempotency key, per token.
CREATE TABLE idempotency (
    actor        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    procedure    TEXT    NOT NULL,
    arguments    TEXT    NOT NULL,
    answer       BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_by_age ON idempotency(created_at);
