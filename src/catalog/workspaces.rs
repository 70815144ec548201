//! Workspaces: who may log in to which isolated database, with which limits.

use rusqlite::{OptionalExtension, Row, params};

use super::{CatalogTx, ScramVerifier, is_unique_violation, sqlite_error};
use crate::error::{Error, Result, SqlState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRecord {
    pub id: i64,
    pub project_id: i64,
    pub branch_id: i64,
    pub name: String,
    pub scram: ScramVerifier,
    pub size_limit: i64,
    pub read_only_storage: bool,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub password_reset_at: Option<i64>,
}

impl WorkspaceRecord {
    /// The Postgres user name of the workspace.
    pub fn user(&self) -> String {
        format!("ws_{}", self.id)
    }
}

const COLUMNS: &str = "id, project_id, branch_id, name, scram_salt, scram_iterations, scram_stored_key, scram_server_key, \
     size_limit, read_only_storage, created_at, created_by, expires_at, password_reset_at";

fn row(r: &Row<'_>) -> rusqlite::Result<WorkspaceRecord> {
    Ok(WorkspaceRecord {
        id: r.get(0)?,
        project_id: r.get(1)?,
        branch_id: r.get(2)?,
        name: r.get(3)?,
        scram: ScramVerifier { salt: r.get(4)?, iterations: r.get(5)?, stored_key: r.get(6)?, server_key: r.get(7)? },
        size_limit: r.get(8)?,
        read_only_storage: r.get(9)?,
        created_at: r.get(10)?,
        created_by: r.get(11)?,
        expires_at: r.get(12)?,
        password_reset_at: r.get(13)?,
    })
}

impl CatalogTx<'_> {
    pub fn insert_workspace(&self, w: &WorkspaceRecord) -> Result<WorkspaceRecord> {
        self.tx
            .execute(
                "INSERT INTO workspaces(project_id, branch_id, name, scram_salt, scram_iterations, scram_stored_key,
                    scram_server_key, size_limit, read_only_storage, created_at, created_by, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    w.project_id,
                    w.branch_id,
                    w.name,
                    w.scram.salt,
                    w.scram.iterations,
                    w.scram.stored_key,
                    w.scram.server_key,
                    w.size_limit,
                    w.read_only_storage,
                    w.created_at,
                    w.created_by,
                    w.expires_at
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::already_exists(format!("workspace \"{}\" already exists", w.name))
                        .with_sqlstate(SqlState::DuplicateObject)
                } else {
                    sqlite_error("creating a workspace", e)
                }
            })?;
        Ok(WorkspaceRecord { id: self.tx.last_insert_rowid(), ..w.clone() })
    }

    pub fn workspace(&self, id: i64) -> Result<Option<WorkspaceRecord>> {
        self.tx
            .query_row(&format!("SELECT {COLUMNS} FROM workspaces WHERE id = ?1"), [id], row)
            .optional()
            .map_err(|e| sqlite_error("reading a workspace", e))
    }

    /// Workspaces of a project (of one branch with `Some`), or of all projects.
    pub fn workspaces(&self, project_id: Option<i64>, branch_id: Option<i64>) -> Result<Vec<WorkspaceRecord>> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM workspaces WHERE (?1 IS NULL OR project_id = ?1) AND (?2 IS NULL OR branch_id = ?2) ORDER BY id"
            ))
            .map_err(|e| sqlite_error("listing workspaces", e))?;
        let rows =
            stmt.query_map(params![project_id, branch_id], row).and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| sqlite_error("listing workspaces", e))
    }

    pub fn delete_workspace(&self, id: i64) -> Result<bool> {
        self.tx
            .execute("DELETE FROM workspaces WHERE id = ?1", [id])
            .map(|n| n > 0)
            .map_err(|e| sqlite_error("dropping a workspace", e))
    }

    pub fn reset_workspace_password(&self, id: i64, scram: &ScramVerifier, at: i64) -> Result<()> {
        self.tx
            .execute(
                "UPDATE workspaces SET scram_salt = ?2, scram_iterations = ?3, scram_stored_key = ?4, scram_server_key = ?5,
                        password_reset_at = ?6 WHERE id = ?1",
                params![id, scram.salt, scram.iterations, scram.stored_key, scram.server_key, at],
            )
            .map_err(|e| sqlite_error("resetting a workspace password", e))?;
        Ok(())
    }

    /// A further login of a workspace; answers its number (the user is `ws_<id>_<number>`).
    pub fn insert_workspace_user(&self, workspace_id: i64, scram: &ScramVerifier, at: i64, by: &str) -> Result<i64> {
        self.tx
            .query_row(
                "INSERT INTO workspace_users(workspace_id, number, scram_salt, scram_iterations, scram_stored_key,
                     scram_server_key, created_at, created_by)
                 VALUES (?1, (SELECT coalesce(max(number), 0) + 1 FROM workspace_users WHERE workspace_id = ?1),
                         ?2, ?3, ?4, ?5, ?6, ?7)
                 RETURNING number",
                params![workspace_id, scram.salt, scram.iterations, scram.stored_key, scram.server_key, at, by],
                |r| r.get(0),
            )
            .map_err(|e| sqlite_error("creating a workspace user", e))
    }

    pub fn workspace_user_verifier(&self, workspace_id: i64, number: i64) -> Result<Option<ScramVerifier>> {
        self.tx
            .query_row(
                "SELECT scram_salt, scram_iterations, scram_stored_key, scram_server_key FROM workspace_users
                 WHERE workspace_id = ?1 AND number = ?2",
                params![workspace_id, number],
                |r| {
                    Ok(ScramVerifier {
                        salt: r.get(0)?,
                        iterations: r.get(1)?,
                        stored_key: r.get(2)?,
                        server_key: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(|e| sqlite_error("reading a workspace user", e))
    }

    pub fn delete_workspace_user(&self, workspace_id: i64, number: i64) -> Result<bool> {
        self.tx
            .execute(
                "DELETE FROM workspace_users WHERE workspace_id = ?1 AND number = ?2",
                params![workspace_id, number],
            )
            .map(|n| n > 0)
            .map_err(|e| sqlite_error("dropping a workspace user", e))
    }

    /// Workspaces whose time ran out before `at`.
    pub fn expired_workspaces(&self, at: i64) -> Result<Vec<WorkspaceRecord>> {
        let mut stmt = self
            .tx
            .prepare(&format!("SELECT {COLUMNS} FROM workspaces WHERE expires_at IS NOT NULL AND expires_at < ?1"))
            .map_err(|e| sqlite_error("finding expired workspaces", e))?;
        let rows = stmt.query_map([at], row).and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| sqlite_error("finding expired workspaces", e))
    }
}
