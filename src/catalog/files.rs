//! Files on the REST sidecar and asynchronous jobs.

use rusqlite::{OptionalExtension, Row, params};

use super::{CatalogTx, sqlite_error};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub ready: bool,
    pub size: i64,
    pub sha256: String,
    pub tags: Vec<String>,
    pub created_at: i64,
    pub created_by: String,
}

const FILE_COLUMNS: &str = "id, project_id, name, state, size, sha256, tags, created_at, created_by";

fn file_row(r: &Row<'_>) -> rusqlite::Result<FileRecord> {
    let tags: String = r.get(6)?;
    Ok(FileRecord {
        id: r.get(0)?,
        project_id: r.get(1)?,
        name: r.get(2)?,
        ready: r.get::<_, String>(3)? == "ready",
        size: r.get(4)?,
        sha256: r.get(5)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        created_at: r.get(7)?,
        created_by: r.get(8)?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Waiting,
    Processing,
    Success,
    Error,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Waiting => "waiting",
            JobState::Processing => "processing",
            JobState::Success => "success",
            JobState::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: i64,
    pub project_id: Option<i64>,
    pub procedure: String,
    pub state: String,
    pub created_at: i64,
    pub created_by: String,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub result: Option<String>,
    pub error: Option<String>,
}

const JOB_COLUMNS: &str =
    "id, project_id, procedure, state, created_at, created_by, started_at, finished_at, result, error";

fn job_row(r: &Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        id: r.get(0)?,
        project_id: r.get(1)?,
        procedure: r.get(2)?,
        state: r.get(3)?,
        created_at: r.get(4)?,
        created_by: r.get(5)?,
        started_at: r.get(6)?,
        finished_at: r.get(7)?,
        result: r.get(8)?,
        error: r.get(9)?,
    })
}

impl CatalogTx<'_> {
    /// Registers a file whose content is still arriving.
    pub fn insert_file(&self, project_id: i64, name: &str, tags: &[String], at: i64, by: &str) -> Result<i64> {
        let tags = serde_json::to_string(tags).unwrap_or_else(|_| "[]".into());
        self.tx
            .execute(
                "INSERT INTO files(project_id, name, state, tags, created_at, created_by) VALUES (?1, ?2, 'uploading', ?3, ?4, ?5)",
                params![project_id, name, tags, at, by],
            )
            .map_err(|e| sqlite_error("registering a file", e))?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Marks a file complete with its size and checksum.
    pub fn finish_file(&self, id: i64, size: i64, sha256: &str) -> Result<()> {
        self.tx
            .execute(
                "UPDATE files SET state = 'ready', size = ?2, sha256 = ?3 WHERE id = ?1",
                params![id, size, sha256],
            )
            .map_err(|e| sqlite_error("finishing a file", e))?;
        Ok(())
    }

    pub fn file(&self, id: i64) -> Result<Option<FileRecord>> {
        self.tx
            .query_row(&format!("SELECT {FILE_COLUMNS} FROM files WHERE id = ?1"), [id], file_row)
            .optional()
            .map_err(|e| sqlite_error("reading a file", e))
    }

    /// Ready files of a project (all projects with `None`), newest first, after `before` (an id).
    pub fn files(&self, project_id: Option<i64>, before: Option<i64>, limit: i64) -> Result<Vec<FileRecord>> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!(
                "SELECT {FILE_COLUMNS} FROM files WHERE state = 'ready' AND (?1 IS NULL OR project_id = ?1)
                 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3"
            ))
            .map_err(|e| sqlite_error("listing files", e))?;
        let rows = stmt
            .query_map(params![project_id, before, limit], file_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| sqlite_error("listing files", e))
    }

    /// (count, bytes) of a project's files, unfinished uploads included.
    pub fn file_usage(&self, project_id: i64) -> Result<(i64, i64)> {
        self.tx
            .query_row("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE project_id = ?1", [project_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(|e| sqlite_error("measuring files", e))
    }

    pub fn delete_file(&self, id: i64) -> Result<()> {
        self.tx.execute("DELETE FROM files WHERE id = ?1", [id]).map_err(|e| sqlite_error("deleting a file", e))?;
        Ok(())
    }

    /// Uploads that never finished, started before `at`.
    pub fn stale_uploads(&self, at: i64) -> Result<Vec<FileRecord>> {
        let mut stmt = self
            .tx
            .prepare(&format!("SELECT {FILE_COLUMNS} FROM files WHERE state = 'uploading' AND created_at < ?1"))
            .map_err(|e| sqlite_error("finding stale uploads", e))?;
        let rows = stmt.query_map([at], file_row).and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| sqlite_error("finding stale uploads", e))
    }

    /// Every file id with its project, for recovery.
    pub fn file_ids(&self) -> Result<Vec<(i64, i64)>> {
        let mut stmt =
            self.tx.prepare("SELECT project_id, id FROM files").map_err(|e| sqlite_error("listing file ids", e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| sqlite_error("listing file ids", e))
    }

    pub fn insert_job(&self, project_id: Option<i64>, procedure: &str, at: i64, by: &str) -> Result<i64> {
        self.tx
            .execute(
                "INSERT INTO jobs(project_id, procedure, state, created_at, created_by) VALUES (?1, ?2, 'waiting', ?3, ?4)",
                params![project_id, procedure, at, by],
            )
            .map_err(|e| sqlite_error("registering a job", e))?;
        Ok(self.tx.last_insert_rowid())
    }

    pub fn start_job(&self, id: i64, at: i64) -> Result<()> {
        self.tx
            .execute("UPDATE jobs SET state = 'processing', started_at = ?2 WHERE id = ?1", params![id, at])
            .map_err(|e| sqlite_error("starting a job", e))?;
        Ok(())
    }

    /// Records a job's end: its answer (success) or its error.
    pub fn finish_job(
        &self,
        id: i64,
        state: JobState,
        at: i64,
        result: Option<&str>,
        error: Option<&str>,
    ) -> Result<()> {
        self.tx
            .execute(
                "UPDATE jobs SET state = ?2, finished_at = ?3, result = ?4, error = ?5 WHERE id = ?1",
                params![id, state.as_str(), at, result, error],
            )
            .map_err(|e| sqlite_error("finishing a job", e))?;
        Ok(())
    }

    pub fn job(&self, id: i64) -> Result<Option<JobRecord>> {
        self.tx
            .query_row(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"), [id], job_row)
            .optional()
            .map_err(|e| sqlite_error("reading a job", e))
    }

    pub fn jobs(&self, project_id: Option<i64>, limit: i64) -> Result<Vec<JobRecord>> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR project_id = ?1) ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(|e| sqlite_error("listing jobs", e))?;
        let rows = stmt
            .query_map(params![project_id, limit], job_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| sqlite_error("listing jobs", e))
    }

    /// Jobs a stopped server left unfinished become errors: nobody will finish them.
    pub fn fail_unfinished_jobs(&self, at: i64, error: &str) -> Result<usize> {
        self.tx
            .execute(
                "UPDATE jobs SET state = 'error', finished_at = ?1, error = ?2 WHERE state IN ('waiting', 'processing')",
                params![at, error],
            )
            .map_err(|e| sqlite_error("failing unfinished jobs", e))
    }
}

impl CatalogTx<'_> {
    /// Stores a table's latest profile (JSON), replacing the previous one.
    pub fn save_profile(&self, table_id: i64, at: i64, by: &str, profile: &str) -> Result<()> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO table_profiles(table_id, created_at, created_by, profile) VALUES (?1, ?2, ?3, ?4)",
                params![table_id, at, by, profile],
            )
            .map_err(|e| sqlite_error("storing a profile", e))?;
        Ok(())
    }

    /// The latest profile (created_at, JSON) of each of `table_ids` that has one.
    pub fn profiles(&self, table_ids: &[i64]) -> Result<Vec<(i64, i64, String)>> {
        let mut out = Vec::new();
        let mut stmt = self
            .tx
            .prepare_cached("SELECT table_id, created_at, profile FROM table_profiles WHERE table_id = ?1")
            .map_err(|e| sqlite_error("reading profiles", e))?;
        for id in table_ids {
            if let Some(row) = stmt
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
                .map_err(|e| sqlite_error("reading profiles", e))?
            {
                out.push(row);
            }
        }
        Ok(out)
    }
}
