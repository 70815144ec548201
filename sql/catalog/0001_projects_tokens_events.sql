-- Projects, their branches, storage tokens and the audit trail.
-- Times are microseconds since the Unix epoch (UTC).

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT    NOT NULL
);

-- Every project has exactly one default branch ("main"); dev branches come later.
CREATE TABLE branches (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    UNIQUE (project_id, name)
);
CREATE UNIQUE INDEX branches_one_default ON branches(project_id) WHERE is_default = 1;

-- A token is `{project}-{id}-{secret}`. Only verifiers are stored: the SHA-256 of the secret
-- (bearer checks on the HTTP sidecar) and the SCRAM-SHA-256 StoredKey/ServerKey (Postgres logins).
CREATE TABLE tokens (
    project_id       INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    id               TEXT    NOT NULL,
    scope            TEXT    NOT NULL CHECK (scope IN ('project_admin', 'branch_admin', 'branch_read')),
    branch_id        INTEGER REFERENCES branches(id) ON DELETE CASCADE,
    description      TEXT    NOT NULL DEFAULT '',
    secret_sha256    BLOB    NOT NULL,
    scram_salt       BLOB    NOT NULL,
    scram_iterations INTEGER NOT NULL,
    scram_stored_key BLOB    NOT NULL,
    scram_server_key BLOB    NOT NULL,
    created_at       INTEGER NOT NULL,
    created_by       TEXT    NOT NULL,
    expires_at       INTEGER,
    revoked_at       INTEGER,
    rotated_at       INTEGER,
    PRIMARY KEY (project_id, id),
    CHECK ((scope = 'project_admin') = (branch_id IS NULL))
);

-- The audit trail: one row per storage write. Rows outlive the objects they describe.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    project_id  INTEGER,
    actor       TEXT    NOT NULL,
    operation   TEXT    NOT NULL,
    object_type TEXT    NOT NULL,
    object_id   TEXT    NOT NULL,
    details     TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_project ON events(project_id, id);

-- Server-wide key/value settings (e.g. the secret that keys fake SCRAM salts for unknown users).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
