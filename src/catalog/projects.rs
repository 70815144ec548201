//! Projects and their branches.

use rusqlite::{OptionalExtension, params};

use super::{BranchRecord, CatalogTx, ProjectRecord, is_unique_violation, sqlite_error};
use crate::error::{Error, Result, SqlState};

const PROJECT_COLUMNS: &str = "id, name, created_at, created_by";
const BRANCH_COLUMNS: &str = "id, project_id, name, is_default, description, created_at";

fn project_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProjectRecord> {
    Ok(ProjectRecord { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)?, created_by: r.get(3)? })
}

fn branch_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BranchRecord> {
    Ok(BranchRecord {
        id: r.get(0)?,
        project_id: r.get(1)?,
        name: r.get(2)?,
        is_default: r.get(3)?,
        description: r.get(4)?,
        created_at: r.get(5)?,
    })
}

impl CatalogTx<'_> {
    /// Inserts a project (with the given id, or the next free one) and its default branch.
    pub fn insert_project(
        &self,
        id: Option<i64>,
        name: &str,
        created_at: i64,
        created_by: &str,
    ) -> Result<(ProjectRecord, BranchRecord)> {
        let id = match id {
            Some(id) => {
                let retired: bool = self
                    .tx
                    .query_row("SELECT EXISTS (SELECT 1 FROM retired_project_ids WHERE id = ?1)", [id], |r| r.get(0))
                    .map_err(|e| sqlite_error("checking a project id", e))?;
                if retired {
                    return Err(Error::already_exists(format!(
                        "project id {id} belonged to a dropped project; ids are never reused"
                    )));
                }
                id
            }
            // Past every id ever given, dropped ones included.
            None => self
                .tx
                .query_row(
                    "SELECT MAX(COALESCE((SELECT MAX(id) FROM projects), 0), \
                            COALESCE((SELECT MAX(id) FROM retired_project_ids), 0)) + 1",
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| sqlite_error("choosing a project id", e))?,
        };
        self.tx
            .execute(
                "INSERT INTO projects(id, name, created_at, created_by) VALUES (?1, ?2, ?3, ?4)",
                params![id, name, created_at, created_by],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::already_exists(format!("project {id} already exists"))
                } else {
                    sqlite_error("inserting a project", e)
                }
            })?;
        self.tx
            .execute(
                "INSERT INTO branches(project_id, name, is_default, description, created_at)
                 VALUES (?1, 'main', 1, 'default branch', ?2)",
                params![id, created_at],
            )
            .map_err(|e| sqlite_error("inserting the default branch", e))?;
        let branch = self.default_branch(id)?;
        Ok((ProjectRecord { id, name: name.to_owned(), created_at, created_by: created_by.to_owned() }, branch))
    }

    pub fn project(&self, id: i64) -> Result<Option<ProjectRecord>> {
        self.tx
            .query_row(&format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = ?1"), [id], project_from_row)
            .optional()
            .map_err(|e| sqlite_error("reading a project", e))
    }

    pub fn projects(&self) -> Result<Vec<ProjectRecord>> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY id"))
            .map_err(|e| sqlite_error("listing projects", e))?;
        let rows = stmt.query_map([], project_from_row).map_err(|e| sqlite_error("listing projects", e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| sqlite_error("listing projects", e))
    }

    /// Deletes a project; its branches and tokens go with it (foreign keys cascade).
    /// Deletes the project and retires its id for good.
    pub fn delete_project(&self, id: i64, at: i64) -> Result<bool> {
        let n = self
            .tx
            .execute("DELETE FROM projects WHERE id = ?1", [id])
            .map_err(|e| sqlite_error("deleting a project", e))?;
        if n > 0 {
            self.tx
                .execute("INSERT OR IGNORE INTO retired_project_ids (id, dropped_at) VALUES (?1, ?2)", [id, at])
                .map_err(|e| sqlite_error("retiring a project id", e))?;
        }
        Ok(n > 0)
    }

    /// Names of other projects' buckets that link one of `id`'s buckets.
    pub fn links_into_project(&self, id: i64) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .tx
            .prepare(
                "SELECT l.project_id, l.stage || '.c-' || l.name FROM buckets l JOIN buckets s ON l.source_bucket_id = s.id \
                 WHERE s.project_id = ?1 AND l.project_id <> ?1 ORDER BY l.project_id, l.id",
            )
            .map_err(|e| sqlite_error("reading links", e))?;
        let rows = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| sqlite_error("reading links", e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| sqlite_error("reading links", e))?;
        Ok(rows)
    }

    pub fn default_branch(&self, project_id: i64) -> Result<BranchRecord> {
        self.tx
            .query_row(
                &format!("SELECT {BRANCH_COLUMNS} FROM branches WHERE project_id = ?1 AND is_default = 1"),
                [project_id],
                branch_from_row,
            )
            .map_err(|e| sqlite_error("reading the default branch", e))
    }

    pub fn branch(&self, project_id: i64, branch_id: i64) -> Result<Option<BranchRecord>> {
        self.tx
            .query_row(
                &format!("SELECT {BRANCH_COLUMNS} FROM branches WHERE project_id = ?1 AND id = ?2"),
                [project_id, branch_id],
                branch_from_row,
            )
            .optional()
            .map_err(|e| sqlite_error("reading a branch", e))
    }

    pub fn branch_by_name(&self, project_id: i64, name: &str) -> Result<Option<BranchRecord>> {
        self.tx
            .query_row(
                &format!("SELECT {BRANCH_COLUMNS} FROM branches WHERE project_id = ?1 AND name = ?2"),
                params![project_id, name],
                branch_from_row,
            )
            .optional()
            .map_err(|e| sqlite_error("reading a branch", e))
    }

    /// A new dev branch of a project.
    pub fn insert_branch(&self, project_id: i64, name: &str, description: &str, at: i64) -> Result<BranchRecord> {
        self.tx
            .execute(
                "INSERT INTO branches(project_id, name, is_default, description, created_at) VALUES (?1, ?2, 0, ?3, ?4)",
                params![project_id, name, description, at],
            )
            .map_err(|e| {
                if super::is_unique_violation(&e) {
                    crate::error::Error::already_exists(format!("branch \"{name}\" already exists")).with_sqlstate(SqlState::DuplicateObject)
                } else {
                    sqlite_error("creating a branch", e)
                }
            })?;
        let id = self.tx.last_insert_rowid();
        self.branch(project_id, id)?.ok_or_else(|| crate::error::Error::internal("creating a branch", "row vanished"))
    }

    pub fn delete_branch(&self, project_id: i64, branch_id: i64) -> Result<bool> {
        self.tx
            .execute(
                "DELETE FROM branches WHERE project_id = ?1 AND id = ?2 AND is_default = 0",
                [project_id, branch_id],
            )
            .map(|n| n > 0)
            .map_err(|e| sqlite_error("dropping a branch", e))
    }

    pub fn branches(&self, project_id: i64) -> Result<Vec<BranchRecord>> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!("SELECT {BRANCH_COLUMNS} FROM branches WHERE project_id = ?1 ORDER BY id"))
            .map_err(|e| sqlite_error("listing branches", e))?;
        let rows = stmt.query_map([project_id], branch_from_row).map_err(|e| sqlite_error("listing branches", e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| sqlite_error("listing branches", e))
    }
}
