//! Buckets, tables and their columns; shares.

use rusqlite::{OptionalExtension, params};

use super::{BucketRecord, CatalogTx, ColumnRecord, TableRecord, is_unique_violation, sqlite_error};
use crate::error::{Error, Result, SqlState};

const BUCKET_COLUMNS: &str = "id, project_id, branch_id, stage, name, description, read_grant, source_bucket_id, created_at, created_by, mirrors_bucket_id";
/// A table set aside by a transaction (see `set_aside`) shows its own name, except to the
/// transaction that renamed it, which sees the new one.
const TABLE_COLUMNS: &str = "id, bucket_id, CASE WHEN dropped_in IS ?3 THEN name ELSE COALESCE(dropped_name, name) END, \
     version, primary_key, row_count, byte_count, description, created_at, created_by, changed_at, version_since";

fn bucket_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BucketRecord> {
    Ok(BucketRecord {
        id: r.get(0)?,
        project_id: r.get(1)?,
        branch_id: r.get(2)?,
        stage: r.get(3)?,
        name: r.get(4)?,
        description: r.get(5)?,
        read_grant: r.get(6)?,
        source_bucket_id: r.get(7)?,
        created_at: r.get(8)?,
        created_by: r.get(9)?,
        mirrors_bucket_id: r.get(10)?,
    })
}

fn table_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TableRecord> {
    let pk: String = r.get(4)?;
    Ok(TableRecord {
        id: r.get(0)?,
        bucket_id: r.get(1)?,
        name: r.get(2)?,
        version: r.get(3)?,
        primary_key: serde_json::from_str(&pk).unwrap_or_default(),
        row_count: r.get(5)?,
        byte_count: r.get(6)?,
        description: r.get(7)?,
        created_at: r.get(8)?,
        created_by: r.get(9)?,
        changed_at: r.get(10)?,
        version_since: r.get(11)?,
        columns: Vec::new(),
    })
}

/// A `pending_schemas` row's (columns, primary key).
fn decode_pending_schema((columns, primary_key): &(String, String)) -> Result<(Vec<ColumnRecord>, Vec<String>)> {
    let columns = serde_json::from_str(columns).map_err(|e| Error::internal("reading a transaction's schema", e))?;
    let primary_key =
        serde_json::from_str(primary_key).map_err(|e| Error::internal("reading a transaction's schema", e))?;
    Ok((columns, primary_key))
}

/// A new bucket.
pub struct NewBucket<'a> {
    pub project_id: i64,
    pub branch_id: i64,
    pub stage: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub source_bucket_id: Option<i64>,
    pub created_at: i64,
    pub created_by: &'a str,
    /// In a dev branch: the default branch's bucket this one stands in for.
    pub mirrors_bucket_id: Option<i64>,
}

impl CatalogTx<'_> {
    pub fn insert_bucket(&self, b: &NewBucket<'_>) -> Result<BucketRecord> {
        self.tx
            .execute(
                "INSERT INTO buckets(project_id, branch_id, stage, name, description, source_bucket_id, created_at, created_by, mirrors_bucket_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![b.project_id, b.branch_id, b.stage, b.name, b.description, b.source_bucket_id, b.created_at, b.created_by, b.mirrors_bucket_id],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::already_exists(format!("bucket \"{}.c-{}\" already exists", b.stage, b.name))
                        .with_sqlstate(SqlState::DuplicateSchema)
                } else {
                    sqlite_error("inserting a bucket", e)
                }
            })?;
        let id = self.tx.last_insert_rowid();
        self.bucket(id)?.ok_or_else(|| Error::internal("inserting a bucket", "row vanished"))
    }

    pub fn bucket(&self, id: i64) -> Result<Option<BucketRecord>> {
        self.tx
            .query_row(&format!("SELECT {BUCKET_COLUMNS} FROM buckets WHERE id = ?1"), [id], bucket_from_row)
            .optional()
            .map_err(|e| sqlite_error("reading a bucket", e))
    }

    pub fn bucket_by_name(
        &self,
        project_id: i64,
        branch_id: i64,
        stage: &str,
        name: &str,
    ) -> Result<Option<BucketRecord>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {BUCKET_COLUMNS} FROM buckets WHERE project_id = ?1 AND branch_id = ?2 AND stage = ?3 AND name = ?4
                 AND (created_in IS NULL OR created_in = ?5) AND (dropped_in IS NULL OR dropped_in IS NOT ?5)"
            ))
            .and_then(|mut s| {
                s.query_row(params![project_id, branch_id, stage, name, self.viewer_param()], bucket_from_row).optional()
            })
            .map_err(|e| sqlite_error("reading a bucket", e))
    }

    pub fn buckets(&self, project_id: Option<i64>, branch_id: Option<i64>) -> Result<Vec<BucketRecord>> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!(
                "SELECT {BUCKET_COLUMNS} FROM buckets WHERE (?1 IS NULL OR project_id = ?1) AND (?2 IS NULL OR branch_id = ?2)
                 AND (created_in IS NULL OR created_in = ?3) AND (dropped_in IS NULL OR dropped_in IS NOT ?3)
                 ORDER BY project_id, stage, name"
            ))
            .map_err(|e| sqlite_error("listing buckets", e))?;
        let rows = stmt
            .query_map(params![project_id, branch_id, self.viewer_param()], bucket_from_row)
            .map_err(|e| sqlite_error("listing buckets", e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| sqlite_error("listing buckets", e))
    }

    /// Buckets linked to `source_bucket_id` (in other projects).
    pub fn links_of(&self, source_bucket_id: i64) -> Result<Vec<BucketRecord>> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!(
                "SELECT {BUCKET_COLUMNS} FROM buckets WHERE source_bucket_id = ?1 ORDER BY project_id"
            ))
            .map_err(|e| sqlite_error("listing links", e))?;
        let rows = stmt.query_map([source_bucket_id], bucket_from_row).map_err(|e| sqlite_error("listing links", e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| sqlite_error("listing links", e))
    }

    pub fn delete_bucket(&self, id: i64) -> Result<()> {
        self.tx.execute("DELETE FROM buckets WHERE id = ?1", [id]).map_err(|e| sqlite_error("deleting a bucket", e))?;
        Ok(())
    }

    pub fn set_bucket_read_grant(&self, id: i64, granted: bool) -> Result<()> {
        self.tx
            .execute("UPDATE buckets SET read_grant = ?2 WHERE id = ?1", params![id, granted])
            .map_err(|e| sqlite_error("changing a read grant", e))?;
        Ok(())
    }

    pub fn insert_table(&self, t: &TableRecord) -> Result<TableRecord> {
        self.tx
            .execute(
                "INSERT INTO tables(id, bucket_id, name, version, primary_key, row_count, byte_count, description, created_at, created_by, changed_at, version_since, max_version)
                 VALUES (?11, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?3)",
                params![
                    t.bucket_id,
                    t.name,
                    t.version,
                    serde_json::to_string(&t.primary_key).expect("strings serialize"),
                    t.row_count,
                    t.byte_count,
                    t.description,
                    t.created_at,
                    t.created_by,
                    t.changed_at,
                    // 0: a new id; an earlier table's id when a snapshot restores it
                    (t.id > 0).then_some(t.id)
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::already_exists(format!("table \"{}\" already exists", t.name)).with_sqlstate(SqlState::DuplicateTable)
                } else {
                    sqlite_error("inserting a table", e)
                }
            })?;
        let id = self.tx.last_insert_rowid();
        self.replace_columns(id, &t.columns)?;
        Ok(TableRecord { id, version_since: t.changed_at, ..t.clone() })
    }

    pub fn replace_columns(&self, table_id: i64, columns: &[ColumnRecord]) -> Result<()> {
        self.tx
            .execute("DELETE FROM columns WHERE table_id = ?1", [table_id])
            .map_err(|e| sqlite_error("replacing columns", e))?;
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO columns(table_id, position, name, type, base_type, nullable, default_sql) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(|e| sqlite_error("writing columns", e))?;
        for (i, c) in columns.iter().enumerate() {
            stmt.execute(params![table_id, i as i64 + 1, c.name, c.sql_type, c.base_type, c.nullable, c.default_sql])
                .map_err(|e| sqlite_error("writing columns", e))?;
        }
        Ok(())
    }

    fn columns_of(&self, table_id: i64) -> Result<Vec<ColumnRecord>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT name, type, base_type, nullable, default_sql FROM columns WHERE table_id = ?1 ORDER BY position")
            .map_err(|e| sqlite_error("reading columns", e))?;
        let rows = stmt
            .query_map([table_id], |r| {
                Ok(ColumnRecord {
                    name: r.get(0)?,
                    sql_type: r.get(1)?,
                    base_type: r.get(2)?,
                    nullable: r.get(3)?,
                    default_sql: r.get(4)?,
                })
            })
            .map_err(|e| sqlite_error("reading columns", e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| sqlite_error("reading columns", e))
    }

    pub fn table(&self, id: i64) -> Result<Option<TableRecord>> {
        let table = self
            .tx
            .query_row(
                &format!("SELECT {} FROM tables WHERE id = ?1", TABLE_COLUMNS.replace("?3", "?2")),
                params![id, self.viewer_param()],
                table_from_row,
            )
            .optional()
            .map_err(|e| sqlite_error("reading a table", e))?;
        table.map(|t| self.with_columns(t)).transpose()
    }

    pub fn table_by_name(&self, bucket_id: i64, name: &str) -> Result<Option<TableRecord>> {
        let table = self
            .tx
            .prepare_cached(&format!(
                "SELECT {TABLE_COLUMNS} FROM tables WHERE bucket_id = ?1 AND name = ?2
                 AND (created_in IS NULL OR created_in = ?3) AND dropped_in IS NULL
                 UNION ALL
                 SELECT {TABLE_COLUMNS} FROM tables WHERE bucket_id = ?1 AND dropped_name = ?2
                 AND dropped_in IS NOT NULL AND dropped_in IS NOT ?3
                 UNION ALL
                 SELECT {TABLE_COLUMNS} FROM tables WHERE bucket_id = ?1 AND name = ?2 AND dropped_in = ?3"
            ))
            .and_then(|mut s| s.query_row(params![bucket_id, name, self.viewer_param()], table_from_row).optional())
            .map_err(|e| sqlite_error("reading a table", e))?;
        table.map(|t| self.with_columns(t)).transpose()
    }

    /// Whether any table or view of the bucket holds `name`, an uncommitted one of another
    /// transaction included (tables and views share a bucket's names).
    pub fn table_name_taken(&self, bucket_id: i64, name: &str) -> Result<bool> {
        self.tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM tables WHERE bucket_id = ?1 AND name = ?2)
                     OR EXISTS (SELECT 1 FROM views WHERE bucket_id = ?1 AND name = ?2)",
                params![bucket_id, name],
                |r| r.get(0),
            )
            .map_err(|e| sqlite_error("reading a table", e))
    }

    /// The viewer as an SQL parameter (`NULL` when none: only committed tables match).
    pub(super) fn viewer_param(&self) -> Option<i64> {
        self.viewer.map(|v| v as i64)
    }

    /// A table's new name (in its bucket).
    pub fn rename_table(&self, table_id: i64, name: &str) -> Result<()> {
        self.tx
            .execute("UPDATE tables SET name = ?2 WHERE id = ?1", params![table_id, name])
            .map_err(|e| sqlite_error("renaming a table", e))?;
        Ok(())
    }

    /// Marks a table as created by client transaction `transaction`, not committed yet.
    pub fn mark_created_in(&self, table_id: i64, transaction: u64) -> Result<()> {
        self.tx
            .execute("UPDATE tables SET created_in = ?2 WHERE id = ?1", params![table_id, transaction as i64])
            .map_err(|e| sqlite_error("marking an uncommitted table", e))?;
        Ok(())
    }

    /// Marks a bucket as created by client transaction `transaction`, not committed yet.
    /// Whether a bucket holds no table or view, whoever made them (committed or not).
    pub fn bucket_is_empty(&self, bucket_id: i64) -> Result<bool> {
        self.tx
            .query_row(
                "SELECT NOT EXISTS(SELECT 1 FROM tables WHERE bucket_id = ?1)
                    AND NOT EXISTS(SELECT 1 FROM views WHERE bucket_id = ?1)",
                [bucket_id],
                |r| r.get(0),
            )
            .map_err(|e| sqlite_error("checking a bucket", e))
    }

    /// `DROP SCHEMA` in a transaction: the bucket is gone for `transaction` alone until COMMIT
    /// deletes it (None: back for it too, after ROLLBACK).
    pub fn mark_bucket_dropped_in(&self, bucket_id: i64, transaction: Option<u64>) -> Result<()> {
        self.tx
            .execute(
                "UPDATE buckets SET dropped_in = ?2 WHERE id = ?1",
                params![bucket_id, transaction.map(|t| t as i64)],
            )
            .map_err(|e| sqlite_error("dropping a bucket", e))?;
        Ok(())
    }

    pub fn mark_bucket_created_in(&self, bucket_id: i64, transaction: u64) -> Result<()> {
        self.tx
            .execute("UPDATE buckets SET created_in = ?2 WHERE id = ?1", params![bucket_id, transaction as i64])
            .map_err(|e| sqlite_error("marking an uncommitted bucket", e))?;
        Ok(())
    }

    /// A created bucket's transaction committed: everyone sees it now.
    pub fn commit_created_bucket(&self, bucket_id: i64) -> Result<()> {
        self.tx
            .execute("UPDATE buckets SET created_in = NULL WHERE id = ?1", [bucket_id])
            .map_err(|e| sqlite_error("committing a created bucket", e))?;
        Ok(())
    }

    /// A created table's transaction committed: everyone sees it now.
    pub fn commit_created(&self, table_id: i64) -> Result<()> {
        self.tx
            .execute("UPDATE tables SET created_in = NULL WHERE id = ?1", [table_id])
            .map_err(|e| sqlite_error("committing a created table", e))?;
        Ok(())
    }

    /// A table a client transaction dropped, until it commits: under a name no client can
    /// write or resolve, its own kept in `dropped_name`.
    pub fn set_aside(&self, table_id: i64, transaction: u64) -> Result<()> {
        self.tx
            .execute(
                "UPDATE tables SET dropped_name = COALESCE(dropped_name, name), name = printf(' dropped %d %d', ?2, id),
                        dropped_in = ?2
                 WHERE id = ?1",
                params![table_id, transaction as i64],
            )
            .map_err(|e| sqlite_error("setting a dropped table aside", e))?;
        Ok(())
    }

    /// A table renamed by client transaction `transaction`, until it commits: the transaction
    /// finds it under the new name, others under the old one (kept in `dropped_name`).
    pub fn rename_aside(&self, table_id: i64, transaction: u64, name: &str) -> Result<()> {
        self.tx
            .execute(
                "UPDATE tables SET dropped_name = COALESCE(dropped_name, name), name = ?3, dropped_in = ?2 WHERE id = ?1",
                params![table_id, transaction as i64, name],
            )
            .map_err(|e| sqlite_error("renaming a table in a transaction", e))?;
        Ok(())
    }

    /// A renamed table's transaction committed: everyone finds it under the new name.
    pub fn commit_renamed(&self, table_id: i64) -> Result<()> {
        self.tx
            .execute("UPDATE tables SET dropped_name = NULL, dropped_in = NULL WHERE id = ?1", [table_id])
            .map_err(|e| sqlite_error("committing a renamed table", e))?;
        Ok(())
    }

    /// A dropped table's transaction rolled back: it is back under its name.
    pub fn restore_set_aside(&self, table_id: i64) -> Result<()> {
        self.tx
            .execute(
                "UPDATE tables SET name = dropped_name, dropped_name = NULL, dropped_in = NULL
                 WHERE id = ?1 AND dropped_in IS NOT NULL",
                [table_id],
            )
            .map_err(|e| sqlite_error("restoring a dropped table", e))?;
        Ok(())
    }

    /// Start-up: what client transactions left uncommitted by a crash is rolled back (created
    /// tables deleted, dropped ones restored). Answers how many tables were touched.
    pub fn roll_back_unfinished_transactions(&self) -> Result<usize> {
        self.tx
            .execute("UPDATE buckets SET dropped_in = NULL WHERE dropped_in IS NOT NULL", [])
            .map_err(|e| sqlite_error("restoring dropped buckets", e))?;
        self.tx
            .execute("DELETE FROM pending_schemas", [])
            .map_err(|e| sqlite_error("rolling back altered tables", e))?;
        let created = self
            .tx
            .execute("DELETE FROM tables WHERE created_in IS NOT NULL", [])
            .map_err(|e| sqlite_error("rolling back created tables", e))?;
        let created = created
            + self
                .tx
                .execute("DELETE FROM views WHERE created_in IS NOT NULL", [])
                .map_err(|e| sqlite_error("rolling back created views", e))?;
        self.tx
            .execute(
                "UPDATE views SET name = dropped_name, dropped_name = NULL, dropped_in = NULL
                 WHERE dropped_in IS NOT NULL",
                [],
            )
            .map_err(|e| sqlite_error("restoring dropped views", e))?;
        // (their tables, all created by the same transactions, are gone already)
        self.tx
            .execute("DELETE FROM buckets WHERE created_in IS NOT NULL", [])
            .map_err(|e| sqlite_error("rolling back created buckets", e))?;
        let dropped = self
            .tx
            .execute(
                "UPDATE tables SET name = dropped_name, dropped_name = NULL, dropped_in = NULL
                 WHERE dropped_in IS NOT NULL",
                [],
            )
            .map_err(|e| sqlite_error("restoring dropped tables", e))?;
        Ok(created + dropped)
    }

    fn with_columns(&self, mut t: TableRecord) -> Result<TableRecord> {
        t.columns = self.columns_of(t.id)?;
        if let Some(viewer) = self.viewer_param() {
            let pending = self
                .tx
                .prepare_cached(
                    "SELECT columns, primary_key FROM pending_schemas WHERE table_id = ?1 AND transaction_id = ?2",
                )
                .and_then(|mut s| {
                    s.query_row(params![t.id, viewer], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                        .optional()
                })
                .map_err(|e| sqlite_error("reading a transaction's schema", e))?;
            if let Some(pending) = pending {
                (t.columns, t.primary_key) = decode_pending_schema(&pending)?;
            }
        }
        Ok(t)
    }

    /// `ALTER TABLE` inside a transaction: the table's columns and primary key as the
    /// transaction `transaction` alone sees them until COMMIT (`commit_pending_schema`).
    pub fn set_pending_schema(
        &self,
        table_id: i64,
        transaction: u64,
        columns: &[ColumnRecord],
        primary_key: &[String],
    ) -> Result<()> {
        let columns = serde_json::to_string(columns).expect("columns serialize");
        let primary_key = serde_json::to_string(primary_key).expect("strings serialize");
        self.tx
            .execute(
                "INSERT INTO pending_schemas(table_id, transaction_id, columns, primary_key) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(table_id) DO UPDATE SET transaction_id = ?2, columns = ?3, primary_key = ?4",
                params![table_id, transaction as i64, columns, primary_key],
            )
            .map_err(|e| sqlite_error("keeping a transaction's schema", e))?;
        Ok(())
    }

    /// Forgets a transaction's schema of a table (ROLLBACK, or once COMMIT wrote it).
    pub fn clear_pending_schema(&self, table_id: i64) -> Result<()> {
        self.tx
            .execute("DELETE FROM pending_schemas WHERE table_id = ?1", [table_id])
            .map_err(|e| sqlite_error("forgetting a transaction's schema", e))?;
        Ok(())
    }

    /// COMMIT of a transaction that altered a table: its columns and primary key become the
    /// table's.
    pub fn commit_pending_schema(&self, table_id: i64) -> Result<()> {
        let pending = self
            .tx
            .query_row("SELECT columns, primary_key FROM pending_schemas WHERE table_id = ?1", [table_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .optional()
            .map_err(|e| sqlite_error("reading a transaction's schema", e))?;
        let Some(pending) = pending else { return Ok(()) };
        let (columns, primary_key) = decode_pending_schema(&pending)?;
        self.replace_columns(table_id, &columns)?;
        self.set_primary_key(table_id, &primary_key)?;
        self.clear_pending_schema(table_id)
    }

    /// Tables of some buckets, with their columns (two queries, not one per table).
    pub fn tables_of(&self, bucket_ids: &[i64]) -> Result<Vec<TableRecord>> {
        if bucket_ids.is_empty() {
            return Ok(vec![]);
        }
        let list = bucket_ids.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",");
        // an integer, or NULL: safe to splice
        let viewer = self.viewer_param().map_or("NULL".to_owned(), |v| v.to_string());
        let mut stmt = self
            .tx
            .prepare(&format!(
                "SELECT {columns} FROM tables WHERE bucket_id IN ({list})
                 AND (created_in IS NULL OR created_in = {viewer})
                 AND (dropped_in IS NULL OR dropped_in IS NOT {viewer} OR name NOT LIKE ' dropped %')
                 ORDER BY bucket_id, 3",
                columns = TABLE_COLUMNS.replace("?3", &viewer)
            ))
            .map_err(|e| sqlite_error("listing tables", e))?;
        let mut tables: Vec<TableRecord> = stmt
            .query_map([], table_from_row)
            .map_err(|e| sqlite_error("listing tables", e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| sqlite_error("listing tables", e))?;
        let mut stmt = self
            .tx
            .prepare(&format!(
                "SELECT c.table_id, c.name, c.type, c.base_type, c.nullable, c.default_sql FROM columns c
                 JOIN tables t ON t.id = c.table_id WHERE t.bucket_id IN ({list}) ORDER BY c.table_id, c.position"
            ))
            .map_err(|e| sqlite_error("listing columns", e))?;
        let mut by_table: std::collections::HashMap<i64, Vec<ColumnRecord>> = std::collections::HashMap::new();
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    ColumnRecord {
                        name: r.get(1)?,
                        sql_type: r.get(2)?,
                        base_type: r.get(3)?,
                        nullable: r.get(4)?,
                        default_sql: r.get(5)?,
                    },
                ))
            })
            .map_err(|e| sqlite_error("listing columns", e))?;
        for row in rows {
            let (id, c) = row.map_err(|e| sqlite_error("listing columns", e))?;
            by_table.entry(id).or_default().push(c);
        }
        for t in &mut tables {
            t.columns = by_table.remove(&t.id).unwrap_or_default();
        }
        if let Some(viewer) = self.viewer_param() {
            let mut stmt = self
                .tx
                .prepare_cached("SELECT table_id, columns, primary_key FROM pending_schemas WHERE transaction_id = ?1")
                .map_err(|e| sqlite_error("reading a transaction's schemas", e))?;
            let pending = stmt
                .query_map([viewer], |r| Ok((r.get::<_, i64>(0)?, (r.get::<_, String>(1)?, r.get::<_, String>(2)?))))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| sqlite_error("reading a transaction's schemas", e))?;
            for (id, schema) in pending {
                if let Some(t) = tables.iter_mut().find(|t| t.id == id) {
                    (t.columns, t.primary_key) = decode_pending_schema(&schema)?;
                }
            }
        }
        Ok(tables)
    }

    pub fn table_count(&self, bucket_id: i64) -> Result<i64> {
        self.tx
            .query_row("SELECT COUNT(*) FROM tables WHERE bucket_id = ?1", [bucket_id], |r| r.get(0))
            .map_err(|e| sqlite_error("counting tables", e))
    }

    /// (projects, buckets, tables) in the whole catalog, for metrics.
    pub fn object_counts(&self) -> Result<(i64, i64, i64)> {
        self.tx
            .query_row(
                "SELECT (SELECT COUNT(*) FROM projects), (SELECT COUNT(*) FROM buckets), (SELECT COUNT(*) FROM tables)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|e| sqlite_error("counting catalog objects", e))
    }

    pub fn delete_table(&self, id: i64) -> Result<()> {
        self.tx.execute("DELETE FROM tables WHERE id = ?1", [id]).map_err(|e| sqlite_error("deleting a table", e))?;
        Ok(())
    }

    /// Records the outcome of a write: new statistics and change time (and version when the file changed).
    pub fn update_table_stats(&self, id: i64, version: i64, rows: i64, bytes: i64, changed_at: i64) -> Result<()> {
        self.tx
            .execute(
                "UPDATE tables SET version_since = CASE WHEN version = ?2 THEN version_since ELSE ?5 END,
                        version = ?2, row_count = ?3, byte_count = ?4, changed_at = ?5,
                        max_version = max(max_version, ?2) WHERE id = ?1",
                params![id, version, rows, bytes, changed_at],
            )
            .map_err(|e| sqlite_error("updating table statistics", e))?;
        Ok(())
    }

    /// Hides a default-branch bucket or table in a dev branch.
    pub fn hide(&self, branch_id: i64, object_type: &str, object_id: i64) -> Result<()> {
        self.tx
            .execute(
                "INSERT OR IGNORE INTO branch_hidden(branch_id, object_type, object_id) VALUES (?1, ?2, ?3)",
                params![branch_id, object_type, object_id],
            )
            .map_err(|e| sqlite_error("hiding an object in a branch", e))?;
        Ok(())
    }

    pub fn unhide(&self, branch_id: i64, object_type: &str, object_id: i64) -> Result<bool> {
        self.tx
            .execute(
                "DELETE FROM branch_hidden WHERE branch_id = ?1 AND object_type = ?2 AND object_id = ?3",
                params![branch_id, object_type, object_id],
            )
            .map(|n| n > 0)
            .map_err(|e| sqlite_error("unhiding an object in a branch", e))
    }

    pub fn is_hidden(&self, branch_id: i64, object_type: &str, object_id: i64) -> Result<bool> {
        self.tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM branch_hidden WHERE branch_id = ?1 AND object_type = ?2 AND object_id = ?3)",
                params![branch_id, object_type, object_id],
                |r| r.get(0),
            )
            .map_err(|e| sqlite_error("checking hidden objects", e))
    }

    /// Every table file of a branch (current versions and kept ones), for dropping it.
    pub fn branch_table_files(&self, branch_id: i64) -> Result<Vec<(i64, i64)>> {
        let mut stmt = self
            .tx
            .prepare(
                "SELECT t.id, t.version FROM tables t JOIN buckets b ON b.id = t.bucket_id WHERE b.branch_id = ?1
                 UNION SELECT table_id, version FROM snapshots WHERE branch_id = ?1",
            )
            .map_err(|e| sqlite_error("listing a branch's files", e))?;
        let rows = stmt
            .query_map([branch_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| sqlite_error("listing a branch's files", e))
    }

    pub fn set_primary_key(&self, id: i64, primary_key: &[String]) -> Result<()> {
        self.tx
            .execute(
                "UPDATE tables SET primary_key = ?2 WHERE id = ?1",
                params![id, serde_json::to_string(primary_key).expect("strings serialize")],
            )
            .map_err(|e| sqlite_error("setting a primary key", e))?;
        Ok(())
    }

    /// The version number a table's next file gets: never one used before (a snapshot may
    /// still keep it).
    pub fn next_version(&self, table_id: i64) -> Result<i64> {
        self.tx
            .query_row(
                "SELECT max(t.max_version, COALESCE((SELECT max(version) FROM snapshots WHERE table_id = ?1), 0)) + 1
                 FROM tables t WHERE t.id = ?1",
                [table_id],
                |r| r.get(0),
            )
            .map_err(|e| sqlite_error("numbering a table version", e))
    }

    /// Marks `version` as used, so no later version of the table takes its number (a
    /// transaction's private version, before it commits).
    pub fn reserve_version(&self, table_id: i64, version: i64) -> Result<()> {
        self.tx
            .execute("UPDATE tables SET max_version = max(max_version, ?2) WHERE id = ?1", params![table_id, version])
            .map_err(|e| sqlite_error("reserving a table version", e))?;
        Ok(())
    }

    /// Whether a snapshot keeps this version of a table's file (so it must never change).
    pub fn version_is_kept(&self, table_id: i64, version: i64) -> Result<bool> {
        self.tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM snapshots WHERE table_id = ?1 AND version = ?2)",
                params![table_id, version],
                |r| r.get(0),
            )
            .map_err(|e| sqlite_error("checking kept versions", e))
    }

    pub fn share_bucket(&self, bucket_id: i64, target_project_id: i64, at: i64, by: &str) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO bucket_shares(bucket_id, target_project_id, created_at, created_by) VALUES (?1, ?2, ?3, ?4)",
                params![bucket_id, target_project_id, at, by],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::already_exists(format!("the bucket is already shared with project {target_project_id}"))
                } else {
                    sqlite_error("sharing a bucket", e)
                }
            })?;
        Ok(())
    }

    pub fn unshare_bucket(&self, bucket_id: i64, target_project_id: i64) -> Result<bool> {
        let n = self
            .tx
            .execute(
                "DELETE FROM bucket_shares WHERE bucket_id = ?1 AND target_project_id = ?2",
                params![bucket_id, target_project_id],
            )
            .map_err(|e| sqlite_error("unsharing a bucket", e))?;
        Ok(n > 0)
    }

    /// Shares a bucket with every project (`all`), or stops that; answers whether it changed.
    pub fn share_with_all(&self, bucket_id: i64, all: bool) -> Result<bool> {
        let n = self
            .tx
            .execute(
                "UPDATE buckets SET shared_with_all = ?2 WHERE id = ?1 AND shared_with_all <> ?2",
                params![bucket_id, all],
            )
            .map_err(|e| sqlite_error("sharing a bucket", e))?;
        Ok(n > 0)
    }

    pub fn is_shared_with_all(&self, bucket_id: i64) -> Result<bool> {
        self.tx
            .query_row("SELECT shared_with_all <> 0 FROM buckets WHERE id = ?1", [bucket_id], |r| r.get(0))
            .map_err(|e| sqlite_error("reading shares", e))
    }

    pub fn is_shared_with(&self, bucket_id: i64, target_project_id: i64) -> Result<bool> {
        self.tx
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM bucket_shares WHERE bucket_id = ?1 AND target_project_id = ?2)
                     OR EXISTS(SELECT 1 FROM buckets WHERE id = ?1 AND shared_with_all <> 0)",
                params![bucket_id, target_project_id],
                |r| r.get(0),
            )
            .map_err(|e| sqlite_error("reading shares", e))
    }

    pub fn shares_of(&self, bucket_id: i64) -> Result<Vec<i64>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT target_project_id FROM bucket_shares WHERE bucket_id = ?1 ORDER BY target_project_id",
            )
            .map_err(|e| sqlite_error("reading shares", e))?;
        let rows = stmt.query_map([bucket_id], |r| r.get(0)).map_err(|e| sqlite_error("reading shares", e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| sqlite_error("reading shares", e))
    }

    /// Every table file the catalog references: (project, branch, table id, version).
    pub fn table_files(&self) -> Result<Vec<(i64, i64, i64, i64)>> {
        let mut stmt = self
            .tx
            .prepare(
                "SELECT b.project_id, b.branch_id, t.id, t.version FROM tables t JOIN buckets b ON b.id = t.bucket_id
                 UNION SELECT project_id, branch_id, table_id, version FROM snapshots",
            )
            .map_err(|e| sqlite_error("listing table files", e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(|e| sqlite_error("listing table files", e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| sqlite_error("listing table files", e))
    }
}
