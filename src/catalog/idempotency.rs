//! Remembered answers of procedures called with an idempotency key.

use rusqlite::{OptionalExtension, params};

use super::{CatalogTx, sqlite_error};
use crate::error::Result;

impl CatalogTx<'_> {
    /// The stored (procedure, arguments, answer) for a key, if any.
    pub fn idempotent_answer(&self, actor: &str, key: &str) -> Result<Option<(String, String, Vec<u8>)>> {
        self.tx
            .query_row(
                "SELECT procedure, arguments, answer FROM idempotency WHERE actor = ?1 AND key = ?2",
                params![actor, key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| sqlite_error("reading an idempotency key", e))
    }

    pub fn remember_answer(
        &self,
        actor: &str,
        key: &str,
        procedure: &str,
        arguments: &str,
        answer: &[u8],
        at: i64,
    ) -> Result<()> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO idempotency(actor, key, procedure, arguments, answer, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![actor, key, procedure, arguments, answer, at],
            )
            .map_err(|e| sqlite_error("storing an idempotency key", e))?;
        Ok(())
    }

    pub fn purge_answers_before(&self, at: i64) -> Result<usize> {
        self.tx
            .execute("DELETE FROM idempotency WHERE created_at < ?1", [at])
            .map_err(|e| sqlite_error("purging idempotency keys", e))
    }
}
