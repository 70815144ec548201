//! Views: stored queries in a bucket.

use rusqlite::{OptionalExtension, params};

use super::{CatalogTx, ColumnRecord, is_unique_violation, sqlite_error};
use crate::error::{Error, Result, SqlState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewRecord {
    pub id: i64,
    pub bucket_id: i64,
    pub name: String,
    /// One validated SELECT; unqualified table names mean the view's own bucket.
    pub definition: String,
    /// The columns as bound when the view was created (nullable, no defaults).
    pub columns: Vec<ColumnRecord>,
    pub description: String,
    pub created_at: i64,
    pub created_by: String,
}

/// A view set aside by a transaction (see `set_aside_view`) shows its own name, except to the
/// transaction that renamed it, which sees the new one.
const VIEW_COLUMNS: &str = "id, bucket_id, CASE WHEN dropped_in IS ?3 THEN name ELSE COALESCE(dropped_name, name) END, \
     definition, columns, description, created_at, created_by";

fn view_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ViewRecord> {
    let columns: String = r.get(4)?;
    let columns: Vec<(String, String, String)> = serde_json::from_str(&columns).unwrap_or_default();
    Ok(ViewRecord {
        id: r.get(0)?,
        bucket_id: r.get(1)?,
        name: r.get(2)?,
        definition: r.get(3)?,
        columns: columns
            .into_iter()
            .map(|(name, sql_type, base_type)| ColumnRecord {
                name,
                sql_type,
                base_type,
                nullable: true,
                default_sql: None,
            })
            .collect(),
        description: r.get(5)?,
        created_at: r.get(6)?,
        created_by: r.get(7)?,
    })
}

impl CatalogTx<'_> {
    pub fn insert_view(&self, v: &ViewRecord) -> Result<ViewRecord> {
        let columns: Vec<(&str, &str, &str)> =
            v.columns.iter().map(|c| (c.name.as_str(), c.sql_type.as_str(), c.base_type.as_str())).collect();
        let columns = serde_json::to_string(&columns).map_err(|e| Error::internal("encoding view columns", e))?;
        self.tx
            .execute(
                "INSERT INTO views (bucket_id, name, definition, columns, description, created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![v.bucket_id, v.name, v.definition, columns, v.description, v.created_at, v.created_by],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::already_exists(format!("relation \"{}\" already exists", v.name))
                        .with_sqlstate(SqlState::DuplicateTable)
                } else {
                    sqlite_error("creating a view", e)
                }
            })?;
        Ok(ViewRecord { id: self.tx.last_insert_rowid(), ..v.clone() })
    }

    pub fn view_by_name(&self, bucket_id: i64, name: &str) -> Result<Option<ViewRecord>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {VIEW_COLUMNS} FROM views WHERE bucket_id = ?1 AND name = ?2
                 AND (created_in IS NULL OR created_in = ?3) AND dropped_in IS NULL
                 UNION ALL
                 SELECT {VIEW_COLUMNS} FROM views WHERE bucket_id = ?1 AND dropped_name = ?2
                 AND dropped_in IS NOT NULL AND dropped_in IS NOT ?3
                 UNION ALL
                 SELECT {VIEW_COLUMNS} FROM views WHERE bucket_id = ?1 AND name = ?2 AND dropped_in = ?3"
            ))
            .and_then(|mut s| s.query_row(params![bucket_id, name, self.viewer_param()], view_from_row).optional())
            .map_err(|e| sqlite_error("reading a view", e))
    }

    /// A view's new name (in its bucket).
    pub fn rename_view(&self, view_id: i64, name: &str) -> Result<()> {
        self.tx
            .execute("UPDATE views SET name = ?2 WHERE id = ?1", params![view_id, name])
            .map_err(|e| sqlite_error("renaming a view", e))?;
        Ok(())
    }

    /// Marks a view as created by client transaction `transaction`, not committed yet.
    pub fn mark_view_created_in(&self, view_id: i64, transaction: u64) -> Result<()> {
        self.tx
            .execute("UPDATE views SET created_in = ?2 WHERE id = ?1", params![view_id, transaction as i64])
            .map_err(|e| sqlite_error("marking an uncommitted view", e))?;
        Ok(())
    }

    /// A created view's transaction committed: everyone sees it now.
    pub fn commit_created_view(&self, view_id: i64) -> Result<()> {
        self.tx
            .execute("UPDATE views SET created_in = NULL WHERE id = ?1", [view_id])
            .map_err(|e| sqlite_error("committing a created view", e))?;
        Ok(())
    }

    /// A view a client transaction dropped, until it commits (see `set_aside` of tables).
    pub fn set_aside_view(&self, view_id: i64, transaction: u64) -> Result<()> {
        self.tx
            .execute(
                "UPDATE views SET dropped_name = COALESCE(dropped_name, name), name = printf(' dropped %d %d', ?2, id),
                        dropped_in = ?2
                 WHERE id = ?1",
                params![view_id, transaction as i64],
            )
            .map_err(|e| sqlite_error("setting a dropped view aside", e))?;
        Ok(())
    }

    /// A view renamed by client transaction `transaction`, until it commits (see
    /// `rename_aside` of tables).
    pub fn rename_view_aside(&self, view_id: i64, transaction: u64, name: &str) -> Result<()> {
        self.tx
            .execute(
                "UPDATE views SET dropped_name = COALESCE(dropped_name, name), name = ?3, dropped_in = ?2 WHERE id = ?1",
                params![view_id, transaction as i64, name],
            )
            .map_err(|e| sqlite_error("renaming a view in a transaction", e))?;
        Ok(())
    }

    /// A renamed view's transaction committed: everyone finds it under the new name.
    pub fn commit_renamed_view(&self, view_id: i64) -> Result<()> {
        self.tx
            .execute("UPDATE views SET dropped_name = NULL, dropped_in = NULL WHERE id = ?1", [view_id])
            .map_err(|e| sqlite_error("committing a renamed view", e))?;
        Ok(())
    }

    /// A dropped view's transaction rolled back: it is back under its name.
    pub fn restore_set_aside_view(&self, view_id: i64) -> Result<()> {
        self.tx
            .execute(
                "UPDATE views SET name = dropped_name, dropped_name = NULL, dropped_in = NULL
                 WHERE id = ?1 AND dropped_in IS NOT NULL",
                [view_id],
            )
            .map_err(|e| sqlite_error("restoring a dropped view", e))?;
        Ok(())
    }

    /// Views of some buckets, by bucket and name.
    pub fn views_of(&self, bucket_ids: &[i64]) -> Result<Vec<ViewRecord>> {
        if bucket_ids.is_empty() {
            return Ok(vec![]);
        }
        let list = bucket_ids.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",");
        // an integer, or NULL: safe to splice
        let viewer = self.viewer_param().map_or("NULL".to_owned(), |v| v.to_string());
        let mut stmt = self
            .tx
            .prepare(&format!(
                "SELECT {columns} FROM views WHERE bucket_id IN ({list})
                 AND (created_in IS NULL OR created_in = {viewer})
                 AND (dropped_in IS NULL OR dropped_in IS NOT {viewer} OR name NOT LIKE ' dropped %')
                 ORDER BY bucket_id, 3",
                columns = VIEW_COLUMNS.replace("?3", &viewer)
            ))
            .map_err(|e| sqlite_error("listing views", e))?;
        stmt.query_map([], view_from_row)
            .map_err(|e| sqlite_error("listing views", e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| sqlite_error("listing views", e))
    }

    pub fn delete_view(&self, id: i64) -> Result<()> {
        self.tx.execute("DELETE FROM views WHERE id = ?1", [id]).map_err(|e| sqlite_error("dropping a view", e))?;
        Ok(())
    }
}
