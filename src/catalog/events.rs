//! The audit trail.

use rusqlite::params;

use super::{CatalogTx, EventRecord, NewEvent, sqlite_error};
use crate::error::Result;

impl CatalogTx<'_> {
    pub fn insert_event(&self, at: i64, e: &NewEvent<'_>) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO events(at, project_id, actor, operation, object_type, object_id, details)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![at, e.project_id, e.actor, e.operation, e.object_type, e.object_id, e.details.to_string()],
            )
            .map_err(|e| sqlite_error("recording an audit event", e))?;
        Ok(())
    }

    /// Events, newest first; all of them, or one project's.
    pub fn events(&self, project_id: Option<i64>, limit: i64) -> Result<Vec<EventRecord>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT id, at, project_id, actor, operation, object_type, object_id, details FROM events
                 WHERE ?1 IS NULL OR project_id = ?1 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(|e| sqlite_error("listing events", e))?;
        let rows = stmt
            .query_map(params![project_id, limit], |r| {
                Ok(EventRecord {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    project_id: r.get(2)?,
                    actor: r.get(3)?,
                    operation: r.get(4)?,
                    object_type: r.get(5)?,
                    object_id: r.get(6)?,
                    details: r.get(7)?,
                })
            })
            .map_err(|e| sqlite_error("listing events", e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| sqlite_error("listing events", e))
    }
}
