//! The catalog: projects, branches, tokens, buckets, tables, snapshots … in SQLite (WAL mode).
//! This module is the only one that talks to SQLite; everything else sees typed records.
//!
//! Every write goes through [`Catalog::write`], which runs one transaction: a change that
//! touches several rows commits whole or not at all.

mod buckets;
mod events;
mod files;
mod idempotency;
mod model;
mod projects;
mod snapshots;
mod tokens;
mod views;
mod workspaces;

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Error, ErrorKind, Result};

pub use buckets::NewBucket;
pub use files::{FileRecord, JobRecord, JobState};
pub use model::*;
pub use snapshots::SnapshotRecord;
pub use views::ViewRecord;
pub use workspaces::WorkspaceRecord;

/// Migrations shipped with this build, applied in order at start-up. The catalog's
/// `user_version` records how many have been applied.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_projects_tokens_events", include_str!("../../sql/catalog/0001_projects_tokens_events.sql")),
    ("0002_buckets_tables", include_str!("../../sql/catalog/0002_buckets_tables.sql")),
    ("0003_files_jobs", include_str!("../../sql/catalog/0003_files_jobs.sql")),
    ("0004_schema_snapshots", include_str!("../../sql/catalog/0004_schema_snapshots.sql")),
    ("0005_time_travel", include_str!("../../sql/catalog/0005_time_travel.sql")),
    ("0006_branches", include_str!("../../sql/catalog/0006_branches.sql")),
    ("0007_workspaces", include_str!("../../sql/catalog/0007_workspaces.sql")),
    ("0008_share_with_all", include_str!("../../sql/catalog/0008_share_with_all.sql")),
    ("0009_workspace_users", include_str!("../../sql/catalog/0009_workspace_users.sql")),
    ("0010_views", include_str!("../../sql/catalog/0010_views.sql")),
    ("0011_retired_project_ids", include_str!("../../sql/catalog/0011_retired_project_ids.sql")),
    ("0012_transactions", include_str!("../../sql/catalog/0012_transactions.sql")),
    ("0013_transaction_views", include_str!("../../sql/catalog/0013_transaction_views.sql")),
    ("0014_transaction_schemas", include_str!("../../sql/catalog/0014_transaction_schemas.sql")),
    ("0015_transaction_dropped_buckets", include_str!("../../sql/catalog/0015_transaction_dropped_buckets.sql")),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

pub struct Catalog {
    conn: Mutex<Connection>,
    /// Counts committed write transactions: whatever was read from the catalog at one value
    /// may be reused while it holds (see [`Catalog::generation`]).
    generation: std::sync::atomic::AtomicU64,
}

/// One open catalog transaction; the typed accessors live in the sibling modules.
pub struct CatalogTx<'a> {
    tx: rusqlite::Transaction<'a>,
    /// The client transaction this catalog access serves, if any: the tables it created and
    /// has not committed are visible to it alone (see `storage::transactions`).
    viewer: Option<u64>,
}

tokio::task_local! {
    static TASK_TRANSACTION: u64;
}

thread_local! {
    static THREAD_TRANSACTION: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Runs `future` on behalf of client transaction `id` (see [`CatalogTx`]'s `viewer`).
pub async fn as_transaction<F: std::future::Future>(id: Option<u64>, future: F) -> F::Output {
    match id {
        Some(id) => TASK_TRANSACTION.scope(id, future).await,
        None => future.await,
    }
}

/// The client transaction the running task acts for, to carry over to a blocking thread.
pub fn task_transaction() -> Option<u64> {
    TASK_TRANSACTION.try_with(|id| *id).ok()
}

/// Runs `f` (on a blocking thread) on behalf of client transaction `id`.
pub fn with_transaction<T>(id: Option<u64>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<u64>);
    impl Drop for Restore {
        fn drop(&mut self) {
            THREAD_TRANSACTION.with(|t| t.set(self.0));
        }
    }
    let _restore = Restore(THREAD_TRANSACTION.with(|t| t.replace(id)));
    f()
}

fn current_viewer() -> Option<u64> {
    THREAD_TRANSACTION.with(|t| t.get()).or_else(task_transaction)
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `path` and brings its schema up to date.
    /// A catalog written by a newer duckstore is refused rather than misread.
    pub fn open(path: &Path) -> Result<Catalog> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(|e| sqlite_error("opening the catalog", e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )
        .map_err(|e| sqlite_error("configuring the catalog", e))?;
        migrate(&mut conn)?;
        Ok(Catalog { conn: Mutex::new(conn), generation: std::sync::atomic::AtomicU64::new(0) })
    }

    pub fn schema_version(&self) -> Result<u32> {
        let conn = self.lock()?;
        user_version(&conn)
    }

    /// Runs `f` in a read transaction (a consistent snapshot).
    pub fn read<T>(&self, f: impl FnOnce(&CatalogTx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(|e| sqlite_error("reading the catalog", e))?;
        let ctx = CatalogTx { tx, viewer: current_viewer() };
        f(&ctx)
        // dropping the transaction rolls back, which is right for a read
    }

    /// Runs `f` in one write transaction, committed only if `f` succeeds.
    pub fn write<T>(&self, f: impl FnOnce(&CatalogTx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sqlite_error("writing the catalog", e))?;
        let ctx = CatalogTx { tx, viewer: current_viewer() };
        let value = f(&ctx)?;
        ctx.tx.commit().map_err(|e| sqlite_error("committing to the catalog", e))?;
        // After the commit, never before: a reader that took the old value and then read the
        // new state caches something newer than its key, never something older.
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Ok(value)
    }

    /// The number of write transactions committed so far. Anything derived from catalog reads
    /// begun after observing a value stays right for as long as the value is unchanged: every
    /// change to the catalog is a write transaction, and each one moves it. Take it *before*
    /// reading.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        // A panic while holding the lock cannot leave a half-applied transaction behind
        // (SQLite rolls it back), so a poisoned lock is safe to reuse.
        Ok(self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

impl CatalogTx<'_> {
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.tx
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| sqlite_error("reading a setting", e))
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO settings(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map_err(|e| sqlite_error("writing a setting", e))?;
        Ok(())
    }
}

fn user_version(conn: &Connection) -> Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))
        .map_err(|e| sqlite_error("reading the catalog version", e))
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let current = user_version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(Error::new(
            ErrorKind::FailedPrecondition,
            format!(
                "the catalog has schema version {current}, but this duckstore understands only up to \
                 {SCHEMA_VERSION}; it was written by a newer duckstore. Run that version, or restore a backup \
                 of the data directory made by this one"
            ),
        ));
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as u32 + 1;
        let tx = conn.transaction().map_err(|e| sqlite_error("starting a migration", e))?;
        tx.execute_batch(sql).map_err(|e| sqlite_error(&format!("applying catalog migration {name}"), e))?;
        tx.pragma_update(None, "user_version", version)
            .map_err(|e| sqlite_error("recording the catalog version", e))?;
        tx.commit().map_err(|e| sqlite_error("committing a migration", e))?;
        tracing::info!(migration = name, version, "applied catalog migration");
    }
    Ok(())
}

/// Maps an SQLite failure to an internal error (the cause goes to the log, not the client).
pub(crate) fn sqlite_error(context: &str, e: rusqlite::Error) -> Error {
    Error::internal(context, e)
}

/// True when `e` is a UNIQUE or PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_catalog_and_reopens_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let catalog = Catalog::open(&path).unwrap();
        assert_eq!(catalog.schema_version().unwrap(), SCHEMA_VERSION);
        drop(catalog);
        let catalog = Catalog::open(&path).unwrap();
        assert_eq!(catalog.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn migration_0010_keeps_what_branches_hid() {
        // a catalog as the version before views wrote it, with a table hidden in a dev branch
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            for (_, sql) in &MIGRATIONS[..9] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 9).unwrap();
            conn.execute_batch(
                "INSERT INTO projects (id, name, created_at, created_by) VALUES (1, 'p', 0, 'admin');
                 INSERT INTO branches (id, project_id, name, is_default, created_at) VALUES (1, 1, 'main', 1, 0), (2, 1, 'dev', 0, 0);
                 INSERT INTO branch_hidden (branch_id, object_type, object_id) VALUES (2, 'table', 42), (2, 'bucket', 7);",
            )
            .unwrap();
        }
        let catalog = Catalog::open(&path).unwrap();
        assert_eq!(catalog.schema_version().unwrap(), SCHEMA_VERSION);
        catalog
            .read(|tx| {
                assert!(tx.is_hidden(2, "table", 42)?);
                assert!(tx.is_hidden(2, "bucket", 7)?);
                assert!(!tx.is_hidden(1, "table", 42)?);
                Ok(())
            })
            .unwrap();
        // and views can be hidden now
        catalog.write(|tx| tx.hide(2, "view", 5)).unwrap();
        assert!(catalog.read(|tx| tx.is_hidden(2, "view", 5)).unwrap());
    }

    #[test]
    fn refuses_a_catalog_from_a_newer_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 7).unwrap();
        }
        let err = Catalog::open(&path).err().expect("newer catalog must be refused");
        assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
        assert!(err.message().contains("newer duckstore"), "{}", err.message());
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        let result: Result<()> = catalog.write(|tx| {
            tx.set_setting("k", "v")?;
            Err(Error::invalid("stop"))
        });
        assert!(result.is_err());
        assert_eq!(catalog.read(|tx| tx.setting("k")).unwrap(), None);
    }
}
