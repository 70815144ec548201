//! Plain records read from and written to the catalog.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRecord {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchRecord {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub is_default: bool,
    pub description: String,
    pub created_at: i64,
}

/// What a project token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Everything in the project.
    ProjectAdmin,
    /// Read and write one branch.
    BranchAdmin,
    /// Read one branch.
    BranchRead,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ProjectAdmin => "project_admin",
            Scope::BranchAdmin => "branch_admin",
            Scope::BranchRead => "branch_read",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "project_admin" => Ok(Scope::ProjectAdmin),
            "branch_admin" => Ok(Scope::BranchAdmin),
            "branch_read" => Ok(Scope::BranchRead),
            other => Err(Error::invalid(format!(
                "unknown token scope \"{other}\"; use project_admin, branch_admin or branch_read"
            ))),
        }
    }
}

/// The SCRAM-SHA-256 verifier of a secret (RFC 5802): enough to check a login, useless to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub project_id: i64,
    pub id: String,
    pub scope: Scope,
    pub branch_id: Option<i64>,
    pub description: String,
    pub secret_sha256: Vec<u8>,
    pub scram: ScramVerifier,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub rotated_at: Option<i64>,
}

impl TokenRecord {
    /// A token logs in only while neither revoked nor expired.
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// An audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub id: i64,
    pub at: i64,
    pub project_id: Option<i64>,
    pub actor: String,
    pub operation: String,
    pub object_type: String,
    pub object_id: String,
    pub details: String,
}

/// An audit record to append.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub project_id: Option<i64>,
    pub actor: &'a str,
    pub operation: &'a str,
    pub object_type: &'a str,
    pub object_id: String,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketRecord {
    pub id: i64,
    pub project_id: i64,
    pub branch_id: i64,
    pub stage: String,
    pub name: String,
    pub description: String,
    pub read_grant: bool,
    pub source_bucket_id: Option<i64>,
    pub created_at: i64,
    pub created_by: String,
    /// In a dev branch: the default branch's bucket this one stands in for (it holds the
    /// branch's copies of that bucket's tables).
    pub mirrors_bucket_id: Option<i64>,
}

impl BucketRecord {
    /// The bucket id clients see and use as a schema name: `in.c-sales`.
    pub fn full_name(&self) -> String {
        format!("{}.c-{}", self.stage, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ColumnRecord {
    pub name: String,
    /// The DuckDB type, e.g. `VARCHAR`, `DECIMAL(38,9)`.
    pub sql_type: String,
    /// Keboola's base type: STRING, INTEGER, NUMERIC, FLOAT, BOOLEAN, DATE, TIMESTAMP.
    pub base_type: String,
    pub nullable: bool,
    /// The default as SQL text, already validated.
    pub default_sql: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRecord {
    pub id: i64,
    pub bucket_id: i64,
    pub name: String,
    pub version: i64,
    pub primary_key: Vec<String>,
    pub row_count: i64,
    pub byte_count: i64,
    pub description: String,
    pub created_at: i64,
    pub created_by: String,
    pub changed_at: i64,
    /// When the current version became current (time travel).
    pub version_since: i64,
    pub columns: Vec<ColumnRecord>,
}
