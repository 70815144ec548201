//! Storage tokens (verifiers only).

use rusqlite::{OptionalExtension, params};

use super::{CatalogTx, ScramVerifier, TokenRecord, is_unique_violation, sqlite_error};
use crate::error::{Error, Result};

const TOKEN_COLUMNS: &str = "project_id, id, scope, branch_id, description, secret_sha256, scram_salt, \
     scram_iterations, scram_stored_key, scram_server_key, created_at, created_by, expires_at, revoked_at, rotated_at";

fn token_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    let scope: String = r.get(2)?;
    Ok(TokenRecord {
        project_id: r.get(0)?,
        id: r.get(1)?,
        scope: scope.parse().map_err(|e: Error| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
        })?,
        branch_id: r.get(3)?,
        description: r.get(4)?,
        secret_sha256: r.get(5)?,
        scram: ScramVerifier { salt: r.get(6)?, iterations: r.get(7)?, stored_key: r.get(8)?, server_key: r.get(9)? },
        created_at: r.get(10)?,
        created_by: r.get(11)?,
        expires_at: r.get(12)?,
        revoked_at: r.get(13)?,
        rotated_at: r.get(14)?,
    })
}

impl CatalogTx<'_> {
    pub fn insert_token(&self, t: &TokenRecord) -> Result<()> {
        self.tx
            .execute(
                &format!("INSERT INTO tokens({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"),
                params![
                    t.project_id,
                    t.id,
                    t.scope.as_str(),
                    t.branch_id,
                    t.description,
                    t.secret_sha256,
                    t.scram.salt,
                    t.scram.iterations,
                    t.scram.stored_key,
                    t.scram.server_key,
                    t.created_at,
                    t.created_by,
                    t.expires_at,
                    t.revoked_at,
                    t.rotated_at,
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::already_exists(format!("token {} already exists", t.id))
                } else {
                    sqlite_error("inserting a token", e)
                }
            })?;
        Ok(())
    }

    pub fn token(&self, project_id: i64, id: &str) -> Result<Option<TokenRecord>> {
        self.tx
            .query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE project_id = ?1 AND id = ?2"),
                params![project_id, id],
                token_from_row,
            )
            .optional()
            .map_err(|e| sqlite_error("reading a token", e))
    }

    pub fn tokens(&self, project_id: Option<i64>) -> Result<Vec<TokenRecord>> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE ?1 IS NULL OR project_id = ?1 ORDER BY project_id, created_at, id"
            ))
            .map_err(|e| sqlite_error("listing tokens", e))?;
        let rows = stmt.query_map([project_id], token_from_row).map_err(|e| sqlite_error("listing tokens", e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| sqlite_error("listing tokens", e))
    }

    pub fn revoke_token(&self, project_id: i64, id: &str, at: i64) -> Result<()> {
        self.tx
            .execute(
                "UPDATE tokens SET revoked_at = ?3 WHERE project_id = ?1 AND id = ?2 AND revoked_at IS NULL",
                params![project_id, id, at],
            )
            .map_err(|e| sqlite_error("revoking a token", e))?;
        Ok(())
    }

    /// Replaces a token's secret verifiers; the old secret stops working with this commit.
    pub fn rotate_token(
        &self,
        project_id: i64,
        id: &str,
        secret_sha256: &[u8],
        scram: &ScramVerifier,
        at: i64,
    ) -> Result<()> {
        self.tx
            .execute(
                "UPDATE tokens SET secret_sha256 = ?3, scram_salt = ?4, scram_iterations = ?5,
                        scram_stored_key = ?6, scram_server_key = ?7, rotated_at = ?8
                 WHERE project_id = ?1 AND id = ?2",
                params![
                    project_id,
                    id,
                    secret_sha256,
                    scram.salt,
                    scram.iterations,
                    scram.stored_key,
                    scram.server_key,
                    at
                ],
            )
            .map_err(|e| sqlite_error("rotating a token", e))?;
        Ok(())
    }

    /// Active `project_admin` tokens of a project (the last one may not be revoked).
    pub fn active_project_admin_tokens(&self, project_id: i64, now: i64) -> Result<i64> {
        self.tx
            .query_row(
                "SELECT COUNT(*) FROM tokens WHERE project_id = ?1 AND scope = 'project_admin'
                   AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)",
                params![project_id, now],
                |r| r.get(0),
            )
            .map_err(|e| sqlite_error("counting admin tokens", e))
    }
}
