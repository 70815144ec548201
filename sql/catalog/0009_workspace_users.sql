-- Further logins of a workspace (Keboola's CreateWorkspaceUser): user ws_<workspace>_<number>,
-- its own password (a SCRAM verifier), dropped alone or with the workspace.
CREATE TABLE workspace_users (
    workspace_id      INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    number            INTEGER NOT NULL,
    scram_salt        BLOB    NOT NULL,
    scram_iterations  INTEGER NOT NULL,
    scram_stored_key  BLOB    NOT NULL,
    scram_server_key  BLOB    NOT NULL,
    created_at        INTEGER NOT NULL,
    created_by        TEXT    NOT NULL,
    PRIMARY KEY (workspace_id, number)
);
