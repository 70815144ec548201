//! Snapshots (kept table versions, manual, automatic or time-travel history) and their
//! settings by level.

use rusqlite::{OptionalExtension, Row, params};

use super::{CatalogTx, ColumnRecord, sqlite_error};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    pub id: i64,
    pub project_id: i64,
    pub branch_id: i64,
    pub table_id: i64,
    pub version: i64,
    pub bucket: String,
    pub table_name: String,
    pub columns: Vec<ColumnRecord>,
    pub primary_key: Vec<String>,
    pub row_count: i64,
    pub byte_count: i64,
    pub description: String,
    /// `None` for a manual snapshot; else why it was taken (`drop_table`, `time_travel` …).
    pub trigger: Option<String>,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub valid_from: Option<i64>,
    pub valid_to: Option<i64>,
    pub last_write_at: Option<i64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredColumn {
    name: String,
    sql_type: String,
    base_type: String,
    nullable: bool,
    default_sql: Option<String>,
}

fn columns_json(columns: &[ColumnRecord]) -> String {
    let stored: Vec<StoredColumn> = columns
        .iter()
        .map(|c| StoredColumn {
            name: c.name.clone(),
            sql_type: c.sql_type.clone(),
            base_type: c.base_type.clone(),
            nullable: c.nullable,
            default_sql: c.default_sql.clone(),
        })
        .collect();
    serde_json::to_string(&stored).expect("columns serialize")
}

fn columns_from(json: &str) -> Vec<ColumnRecord> {
    serde_json::from_str::<Vec<StoredColumn>>(json)
        .unwrap_or_default()
        .into_iter()
        .map(|c| ColumnRecord {
            name: c.name,
            sql_type: c.sql_type,
            base_type: c.base_type,
            nullable: c.nullable,
            default_sql: c.default_sql,
        })
        .collect()
}

const SNAPSHOT_COLUMNS: &str = "id, project_id, branch_id, table_id, version, bucket, table_name, columns, primary_key, \
     row_count, byte_count, description, trigger, created_at, created_by, expires_at, valid_from, valid_to, last_write_at";

fn snapshot_row(r: &Row<'_>) -> rusqlite::Result<SnapshotRecord> {
    let columns: String = r.get(7)?;
    let pk: String = r.get(8)?;
    Ok(SnapshotRecord {
        id: r.get(0)?,
        project_id: r.get(1)?,
        branch_id: r.get(2)?,
        table_id: r.get(3)?,
        version: r.get(4)?,
        bucket: r.get(5)?,
        table_name: r.get(6)?,
        columns: columns_from(&columns),
        primary_key: serde_json::from_str(&pk).unwrap_or_default(),
        row_count: r.get(9)?,
        byte_count: r.get(10)?,
        description: r.get(11)?,
        trigger: r.get(12)?,
        created_at: r.get(13)?,
        created_by: r.get(14)?,
        expires_at: r.get(15)?,
        valid_from: r.get(16)?,
        valid_to: r.get(17)?,
        last_write_at: r.get(18)?,
    })
}

impl CatalogTx<'_> {
    pub fn insert_snapshot(&self, s: &SnapshotRecord) -> Result<SnapshotRecord> {
        self.tx
            .execute(
                "INSERT INTO snapshots(project_id, branch_id, table_id, version, bucket, table_name, columns, primary_key,
                    row_count, byte_count, description, trigger, created_at, created_by, expires_at, valid_from, valid_to, last_write_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                params![
                    s.project_id,
                    s.branch_id,
                    s.table_id,
                    s.version,
                    s.bucket,
                    s.table_name,
                    columns_json(&s.columns),
                    serde_json::to_string(&s.primary_key).expect("strings serialize"),
                    s.row_count,
                    s.byte_count,
                    s.description,
                    s.trigger,
                    s.created_at,
                    s.created_by,
                    s.expires_at,
                    s.valid_from,
                    s.valid_to,
                    s.last_write_at,
                ],
            )
            .map_err(|e| sqlite_error("storing a snapshot", e))?;
        Ok(SnapshotRecord { id: self.tx.last_insert_rowid(), ..s.clone() })
    }

    pub fn snapshot(&self, id: i64) -> Result<Option<SnapshotRecord>> {
        self.tx
            .query_row(&format!("SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE id = ?1"), [id], snapshot_row)
            .optional()
            .map_err(|e| sqlite_error("reading a snapshot", e))
    }

    /// A project's snapshots (all with `None`), newest first; time-travel history only with
    /// `history`.
    pub fn snapshots(&self, project_id: Option<i64>, history: bool) -> Result<Vec<SnapshotRecord>> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE (?1 IS NULL OR project_id = ?1)
                 AND (?2 OR trigger IS NULL OR trigger <> 'time_travel') ORDER BY id DESC"
            ))
            .map_err(|e| sqlite_error("listing snapshots", e))?;
        let rows = stmt
            .query_map(params![project_id, history], snapshot_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| sqlite_error("listing snapshots", e))
    }

    /// The time-travel history of a table, oldest first.
    pub fn table_history(&self, table_id: i64) -> Result<Vec<SnapshotRecord>> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE table_id = ?1 AND trigger = 'time_travel' ORDER BY valid_from"
            ))
            .map_err(|e| sqlite_error("reading table history", e))?;
        let rows = stmt.query_map([table_id], snapshot_row).and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| sqlite_error("reading table history", e))
    }

    pub fn delete_snapshot(&self, id: i64) -> Result<()> {
        self.tx
            .execute("DELETE FROM snapshots WHERE id = ?1", [id])
            .map_err(|e| sqlite_error("dropping a snapshot", e))?;
        Ok(())
    }

    /// Snapshots whose retention ended before `at`.
    pub fn expired_snapshots(&self, at: i64) -> Result<Vec<SnapshotRecord>> {
        let mut stmt = self
            .tx
            .prepare(&format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE expires_at IS NOT NULL AND expires_at < ?1"
            ))
            .map_err(|e| sqlite_error("finding expired snapshots", e))?;
        let rows = stmt.query_map([at], snapshot_row).and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| sqlite_error("finding expired snapshots", e))
    }

    /// Whether a table (any table) uses this file as its current version.
    pub fn version_is_current(&self, table_id: i64, version: i64) -> Result<bool> {
        self.tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM tables WHERE id = ?1 AND version = ?2)",
                params![table_id, version],
                |r| r.get(0),
            )
            .map_err(|e| sqlite_error("checking table versions", e))
    }

    /// (count, bytes) of snapshots, for metrics.
    pub fn snapshot_totals(&self) -> Result<(i64, i64)> {
        self.tx
            .query_row("SELECT COUNT(*), COALESCE(SUM(byte_count), 0) FROM snapshots", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(|e| sqlite_error("counting snapshots", e))
    }

    /// Settings stored for a project: (level, target, key, JSON value).
    pub fn snapshot_settings(&self, project_id: i64) -> Result<Vec<(String, String, String, String)>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT level, target, key, value FROM snapshot_settings WHERE project_id = ?1")
            .map_err(|e| sqlite_error("reading snapshot settings", e))?;
        let rows = stmt
            .query_map([project_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| sqlite_error("reading snapshot settings", e))
    }

    pub fn set_snapshot_setting(
        &self,
        project_id: i64,
        level: &str,
        target: &str,
        (key, value): (&str, &str),
        (at, by): (i64, &str),
    ) -> Result<()> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO snapshot_settings(project_id, level, target, key, value, updated_at, updated_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![project_id, level, target, key, value, at, by],
            )
            .map_err(|e| sqlite_error("storing a snapshot setting", e))?;
        Ok(())
    }

    /// Removes settings of one level and target (all keys with `None`); answers how many.
    pub fn reset_snapshot_settings(
        &self,
        project_id: i64,
        level: &str,
        target: &str,
        key: Option<&str>,
    ) -> Result<usize> {
        self.tx
            .execute(
                "DELETE FROM snapshot_settings WHERE project_id = ?1 AND level = ?2 AND target = ?3 AND (?4 IS NULL OR key = ?4)",
                params![project_id, level, target, key],
            )
            .map_err(|e| sqlite_error("resetting snapshot settings", e))
    }
}
