//! Transactions that write (ADR 0012). One DuckDB transaction may write one attached file
//! only, so a client transaction cannot be one engine transaction. Instead it writes private
//! versions: the first time it writes a table it takes the table's write lock (kept until it
//! ends), copies the committed version to a new version number and writes there, statement by
//! statement. Its reads see those versions in place of the committed ones. COMMIT switches
//! every table it wrote to its version in one catalog transaction, so other sessions see all of
//! it or none of it; ROLLBACK, a dropped connection or a crash leaves the private versions
//! unreferenced, and they are deleted (at once, or by start-up recovery).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;

use super::read_snapshots::{ReadSnapshot, ReadView, SnapshotView};
use super::tables::require_write;
use super::tables::{LockedTable, TransactionLock, WriteResult, WrittenFile};
use super::{Inner, SessionContext, Storage, TableName};
use crate::catalog::TableRecord;
use crate::clock::now_micros;
use crate::engine::{Canceller, TableFile, WriteOutcome};
use crate::error::{Error, ErrorKind, Result, SqlState};

static NEXT_TRANSACTION: AtomicU64 = AtomicU64::new(1);

/// At most this many private versions (tables written, and copies savepoints keep) per
/// transaction: each is a copy of a table file, so an unbounded number would let one session
/// fill the disk every project shares by repeating `SAVEPOINT` and a one-row `UPDATE`.
const MAX_PRIVATE_VERSIONS: usize = 1000;

/// At most this many bytes of copies a transaction's savepoints make it keep, for the same
/// reason (a table written once is copied once, whatever its size).
const MAX_SAVEPOINT_COPY_BYTES: i64 = 4 << 30;

/// A client transaction's writes so far. Dropped without [`Storage::commit`] or
/// [`Storage::rollback`] (a connection that went away), it rolls back.
pub struct Transaction {
    storage: Storage,
    id: u64,
    tables: BTreeMap<i64, Pending>,
    /// Tables it dropped, in order: set aside until COMMIT deletes them.
    dropped: Vec<Dropped>,
    /// Buckets it created (id, full name), in order: seen by it alone until COMMIT.
    buckets: Vec<(i64, String)>,
    /// Buckets it dropped (id, full name), in order: gone for it alone until COMMIT.
    dropped_buckets: Vec<(i64, String)>,
    /// Views it created and views it set aside (id, `bucket.view`), in order.
    views: Vec<(i64, String)>,
    dropped_views: Vec<(i64, String)>,
    /// Committed tables and views it renamed, in order (the new name seen by it alone).
    renamed: Vec<Renamed>,
    /// Bytes of the copies savepoints made it keep so far (see [`MAX_SAVEPOINT_COPY_BYTES`]).
    savepoint_copy_bytes: i64,
    /// Open savepoints, oldest first: each keeps the private version every table had then
    /// (the next write of such a table copies it first, so the savepoint's stays as it was).
    savepoints: Vec<Savepoint>,
    /// REPEATABLE READ and SERIALIZABLE: the versions it reads (see `read_snapshots`).
    snapshot: Option<ReadSnapshot>,
    /// The bucket of its temporary tables (`CREATE TEMPORARY TABLE`), once it made one: its
    /// alone, and dropped before it commits.
    temporary_bucket: Option<String>,
}

struct Savepoint {
    name: String,
    /// What the caller marked it with (the session's next cursor id: cursors declared since
    /// close at `ROLLBACK TO`).
    mark: u64,
    versions: HashMap<i64, TableFile>,
    /// The schema each table had in the transaction then (None: its committed one).
    schemas: HashMap<i64, Option<Schema>>,
    /// How many tables the transaction had dropped, and buckets created and dropped, then.
    dropped: usize,
    buckets: usize,
    dropped_buckets: usize,
    views: usize,
    dropped_views: usize,
    renamed: usize,
}

/// A committed table or view a transaction renamed.
struct Renamed {
    table: bool,
    id: i64,
    /// `bucket.old` and the new name, for the audit record.
    from: String,
    to: String,
    /// A table's lock, unless the transaction holds it already.
    _lock: Option<TransactionLock>,
}

/// A table the transaction dropped.
struct Dropped {
    table: TableRecord,
    /// `bucket.table`, for the audit record.
    label: String,
    /// Its committed file, discarded at COMMIT unless a snapshot keeps it.
    file: TableFile,
    /// A branch's copy: the default branch's table it mirrors, hidden in the branch at COMMIT.
    mirrored: Option<i64>,
    /// Its lock, unless the transaction's write of it holds it already.
    _lock: Option<TransactionLock>,
}

/// A table's columns and primary key as an `ALTER TABLE` in a transaction left them.
type Schema = super::schema::TableSchema;

/// One table a transaction wrote.
struct Pending {
    _lock: TransactionLock,
    /// `bucket.table`, for the audit record.
    label: String,
    /// The committed version the transaction started from; COMMIT refuses if it moved.
    base: TableFile,
    /// The transaction's private version.
    private: TableFile,
    row_count: i64,
    byte_count: i64,
    rows_written: u64,
    operations: Vec<&'static str>,
    /// Created by this transaction: nobody else sees it until COMMIT.
    created: bool,
    /// The columns and primary key its `ALTER TABLE`s gave it (kept in the catalog for this
    /// transaction alone until COMMIT); None: unchanged.
    schema: Option<Schema>,
}

impl Pending {
    /// A committed table's state at the transaction's first change of it: `private` is the
    /// version the transaction writes in place of `base`.
    fn first_change(
        lock: TransactionLock,
        bucket: &crate::catalog::BucketRecord,
        table: &TableRecord,
        base: TableFile,
        private: TableFile,
    ) -> Pending {
        Pending {
            _lock: lock,
            label: format!("{}.{}", bucket.full_name(), table.name),
            base,
            private,
            row_count: table.row_count,
            byte_count: table.byte_count,
            rows_written: 0,
            operations: Vec::new(),
            created: false,
            schema: None,
        }
    }
}

impl Transaction {
    /// The private versions to read in place of the committed ones, by table id.
    fn written(&self) -> HashMap<i64, TableFile> {
        self.tables.iter().map(|(id, p)| (*id, p.private.clone())).collect()
    }

    /// What its reads see in place of the latest commits: its own versions, and its snapshot's.
    pub fn read_view(&self) -> ReadView {
        ReadView { written: self.written(), snapshot: self.snapshot.as_ref().and_then(ReadSnapshot::view) }
    }

    /// Whether it reads a snapshot (taken at its first statement).
    pub fn has_read_snapshot(&self) -> bool {
        self.snapshot.is_some()
    }

    pub fn set_read_snapshot(&mut self, snapshot: ReadSnapshot) {
        self.snapshot = Some(snapshot);
    }

    /// The bucket of its temporary tables, if it made one.
    pub fn temporary_bucket(&self) -> Option<&str> {
        self.temporary_bucket.as_deref()
    }

    /// The id the catalog knows this transaction by (see `catalog::as_transaction`).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// `SAVEPOINT name`; `mark` comes back from `rollback_to_savepoint`.
    pub fn savepoint(&mut self, name: String, mark: u64) {
        let (dropped, buckets, dropped_buckets) = (self.dropped.len(), self.buckets.len(), self.dropped_buckets.len());
        let (views, dropped_views, renamed) = (self.views.len(), self.dropped_views.len(), self.renamed.len());
        let versions = self.written();
        let schemas = self.tables.iter().map(|(id, p)| (*id, p.schema.clone())).collect();
        self.savepoints.push(Savepoint {
            name,
            mark,
            versions,
            schemas,
            dropped,
            buckets,
            dropped_buckets,
            views,
            dropped_views,
            renamed,
        });
    }

    fn savepoint_index(&self, name: &str) -> Result<usize> {
        self.savepoints.iter().rposition(|s| s.name == name).ok_or_else(|| {
            Error::not_found(format!("savepoint \"{name}\" does not exist"))
                .with_sqlstate(SqlState::InvalidSavepointSpecification)
        })
    }

    /// Everything the transaction changed, taken out to commit or roll it back, with the
    /// versions only its savepoints kept (nothing refers to them once the savepoints end).
    fn take_work(&mut self) -> (Vec<TableFile>, Work) {
        let kept = self.savepoints.drain(..).flat_map(|s| s.versions.into_values()).collect();
        let kept_only = self.unreferenced(kept);
        let work = Work {
            tables: std::mem::take(&mut self.tables),
            dropped: std::mem::take(&mut self.dropped),
            buckets: std::mem::take(&mut self.buckets),
            dropped_buckets: std::mem::take(&mut self.dropped_buckets),
            views: Views {
                created: std::mem::take(&mut self.views),
                dropped: std::mem::take(&mut self.dropped_views),
                renamed: std::mem::take(&mut self.renamed),
            },
        };
        (kept_only, work)
    }

    /// The lock of a table the transaction renamed, handed over to a later write or drop of it
    /// (waiting for it again would be waiting for itself).
    fn take_renamed_lock(&mut self, table_id: i64) -> Option<TransactionLock> {
        self.renamed.iter_mut().filter(|r| r.table && r.id == table_id).find_map(|r| r._lock.take())
    }

    /// Whether the transaction holds the lock of `table_id` already.
    pub(super) fn holds_lock(&self, table_id: i64) -> bool {
        self.tables.contains_key(&table_id) || self.renamed.iter().any(|r| r.table && r.id == table_id)
    }

    /// Refuses a new private version past [`MAX_PRIVATE_VERSIONS`] (`54000`).
    fn room_for_a_version(&self) -> Result<()> {
        let kept: std::collections::HashSet<&TableFile> =
            self.savepoints.iter().flat_map(|s| s.versions.values()).collect();
        let current = self.tables.values().filter(|p| !kept.contains(&p.private)).count();
        if kept.len() + current < MAX_PRIVATE_VERSIONS {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::ResourceExhausted,
            format!("a transaction keeps at most {MAX_PRIVATE_VERSIONS} table versions (tables written and copies its savepoints keep)"),
        )
        .with_sqlstate(SqlState::ProgramLimitExceeded)
        .with_hint("COMMIT or RELEASE savepoints first"))
    }

    /// Whether a savepoint keeps `file` (so a write must not change it).
    fn kept(&self, file: &TableFile) -> bool {
        self.savepoints.iter().any(|s| s.versions.get(&file.table_id) == Some(file))
    }

    /// Private versions neither a table nor a savepoint refers to any more, among `candidates`.
    fn unreferenced(&self, candidates: Vec<TableFile>) -> Vec<TableFile> {
        let mut gone: Vec<TableFile> = candidates
            .into_iter()
            .filter(|f| !self.kept(f) && self.tables.get(&f.table_id).is_none_or(|p| p.private != *f))
            .collect();
        gone.sort_by_key(|f| (f.table_id, f.version));
        gone.dedup();
        gone
    }

    /// `RELEASE name`: the savepoint and every later one end; the writes stay.
    pub async fn release_savepoint(&mut self, name: &str) -> Result<()> {
        let at = self.savepoint_index(name)?;
        let released: Vec<TableFile> = self.savepoints.drain(at..).flat_map(|s| s.versions.into_values()).collect();
        let gone = self.unreferenced(released);
        self.storage.remove_files(gone).await;
        Ok(())
    }

    /// `ROLLBACK TO name`: every table returns to the version it had at the savepoint (tables
    /// first written since are released); later savepoints end, this one stays. Answers the
    /// savepoint's mark.
    pub async fn rollback_to_savepoint(&mut self, name: &str) -> Result<u64> {
        let at = self.savepoint_index(name)?;
        let mark = self.savepoints[at].mark;
        let mut candidates: Vec<TableFile> =
            self.savepoints.drain(at + 1..).flat_map(|s| s.versions.into_values()).collect();
        let restored = self.savepoints[at].versions.clone();
        let schemas_then = self.savepoints[at].schemas.clone();
        // (table, the schema to keep for the transaction) of every table whose schema goes back
        let mut schemas: Vec<(i64, Option<Schema>)> = Vec::new();
        let undropped: Vec<Dropped> = self.dropped.drain(self.savepoints[at].dropped..).collect();
        let unmade: Vec<i64> = self.buckets.drain(self.savepoints[at].buckets..).map(|(id, _)| id).collect();
        let undropped_buckets: Vec<i64> =
            self.dropped_buckets.drain(self.savepoints[at].dropped_buckets..).map(|(id, _)| id).collect();
        let views = Views {
            created: self.views.drain(self.savepoints[at].views..).collect(),
            dropped: self.dropped_views.drain(self.savepoints[at].dropped_views..).collect(),
            renamed: self.renamed.drain(self.savepoints[at].renamed..).collect(),
        };
        let mut released = Vec::new();
        for (id, mut pending) in std::mem::take(&mut self.tables) {
            match restored.get(&id) {
                Some(version) => {
                    candidates.push(std::mem::replace(&mut pending.private, version.clone()));
                    let then = schemas_then.get(&id).cloned().flatten();
                    if pending.schema != then {
                        schemas.push((id, then.clone()));
                        pending.schema = then;
                    }
                    self.tables.insert(id, pending);
                }
                None => {
                    candidates.push(pending.private.clone());
                    // a table made since: its first version goes too, once rebuilt past it
                    if pending.created && pending.base != pending.private {
                        candidates.push(pending.base.clone());
                    }
                    if pending.schema.is_some() && !pending.created {
                        schemas.push((id, None));
                    }
                    released.push(pending);
                }
            }
        }
        let gone = self.unreferenced(candidates);
        // the catalog first: tables created since go, tables dropped since come back
        let created: Vec<i64> = released.iter().filter(|p| p.created).map(|p| p.private.table_id).collect();
        let restored: Vec<i64> = undropped.iter().map(|d| d.table.id).collect();
        self.storage.restore_buckets(undropped_buckets).await?;
        self.storage.undo_catalog(created, restored, unmade).await?;
        self.storage.restore_schemas(self.id, schemas).await?;
        self.storage.undo_views(views).await?;
        self.storage.remove_files(gone).await;
        drop((released, undropped)); // their locks, once their files are gone
        Ok(mark)
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        let (kept_only, work) = self.take_work();
        let snapshot = self.snapshot.take();
        if work.is_empty() && kept_only.is_empty() && snapshot.is_none() {
            return;
        }
        let storage = self.storage.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    storage.remove_files(kept_only).await;
                    storage.discard(work).await;
                    storage.end_read_snapshot(snapshot).await
                });
            }
            // no runtime (shutdown): start-up recovery rolls the catalog back and deletes the
            // unreferenced files
            Err(_) => drop(work),
        }
    }
}

fn changed_meanwhile(label: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!("table {label} changed while this transaction wrote it; it was rolled back"),
    )
    .with_sqlstate(SqlState::SerializationFailure)
    .with_hint("retry the transaction")
}

impl Storage {
    /// A transaction that has written nothing yet.
    pub fn begin_transaction(&self) -> Transaction {
        Transaction {
            storage: self.clone(),
            id: NEXT_TRANSACTION.fetch_add(1, Ordering::Relaxed),
            tables: BTreeMap::new(),
            dropped: Vec::new(),
            buckets: Vec::new(),
            dropped_buckets: Vec::new(),
            views: Vec::new(),
            dropped_views: Vec::new(),
            renamed: Vec::new(),
            savepoint_copy_bytes: 0,
            savepoints: Vec::new(),
            snapshot: None,
            temporary_bucket: None,
        }
    }

    /// `CREATE SCHEMA` inside `transaction`: the bucket exists for the transaction alone until
    /// it commits (see [`Storage::create_bucket`]).
    pub async fn create_bucket_in(
        &self,
        transaction: &mut Transaction,
        ctx: SessionContext,
        stage: String,
        name: String,
        if_not_exists: bool,
    ) -> Result<()> {
        let (bucket, created) =
            self.create_bucket_for(ctx, stage, name, String::new(), if_not_exists, Some(transaction.id)).await?;
        if created {
            transaction.buckets.push((bucket.id, bucket.full_name()));
        }
        Ok(())
    }

    /// `CREATE TABLE` inside `transaction`: the table exists for the transaction alone until
    /// it commits (see [`Storage::create_table`]). Answers whether it is new (`if_not_exists`
    /// may find one).
    pub async fn create_table_in(
        &self,
        transaction: &mut Transaction,
        ctx: SessionContext,
        spec: super::TableSpec,
        if_not_exists: bool,
        canceller: &Canceller,
    ) -> Result<bool> {
        let (project_id, branch_id) = require_write(&ctx)?;
        let label = format!("{}.{}", spec.bucket, spec.name);
        transaction.room_for_a_version()?;
        let (table, created) = self.create_table_for(ctx, spec, if_not_exists, Some(transaction.id)).await?;
        if !created {
            return Ok(false);
        }
        // nobody else can see the table, so its lock is free
        let lock = self.inner.write_locks.acquire_for_transaction(table.id, transaction.id, canceller).await;
        let file = TableFile { project_id, branch_id, table_id: table.id, version: table.version };
        let lock = match lock {
            Ok(lock) => lock,
            Err(e) => {
                self.undo_catalog(vec![table.id], vec![], vec![]).await?;
                self.remove_files(vec![file]).await;
                return Err(e);
            }
        };
        transaction.tables.insert(
            table.id,
            Pending {
                _lock: lock,
                label,
                base: file.clone(),
                private: file,
                row_count: 0,
                byte_count: table.byte_count,
                rows_written: 0,
                operations: vec!["create_table"],
                created: true,
                schema: None,
            },
        );
        Ok(true)
    }

    /// `DROP TABLE` inside `transaction`: the table is set aside (no session resolves its name)
    /// and deleted at COMMIT; ROLLBACK brings it back. Answers false when `if_exists` found
    /// nothing.
    pub async fn drop_table_in(
        &self,
        transaction: &mut Transaction,
        ctx: SessionContext,
        name: TableName,
        search_path: Vec<String>,
        if_exists: bool,
        canceller: &Canceller,
    ) -> Result<bool> {
        let (project_id, branch_id) = require_write(&ctx)?;
        let (name2, path) = (name.clone(), search_path.clone());
        let found = self
            .blocking(move |inner| inner.catalog.read(|tx| inner.find_table(tx, project_id, branch_id, &name2, &path)))
            .await?;
        let Some((bucket, table)) = found else {
            return if if_exists { Ok(false) } else { Err(super::tables::table_not_found(&name)) };
        };
        if bucket.source_bucket_id.is_some() {
            return Err(Error::permission_denied(format!("bucket \"{}\" is a read-only link", bucket.full_name())));
        }
        if self.inner.is_live(&bucket, branch_id) {
            return Err(Error::unsupported(
                "a dev branch cannot drop a table it reads from the default branch inside a transaction block",
            )
            .with_hint("drop it outside the transaction block"));
        }
        let lock = match transaction.tables.contains_key(&table.id) {
            true => None,
            false => match transaction.take_renamed_lock(table.id) {
                Some(lock) => Some(LockedTable::already_held(lock, table.id, &name, &search_path)),
                None => {
                    Some(self.lock_target_for_transaction(&ctx, &name, &search_path, transaction.id, canceller).await?)
                }
            },
        };
        let created = transaction.tables.get(&table.id).is_some_and(|p| p.created);
        let txn = transaction.id;
        let dropped = self
            .blocking_for(project_id, move |inner| {
                let (bucket, table) = inner.catalog.read(|tx| match &lock {
                    Some(locked) => locked.resolve_in(inner, tx, &ctx),
                    None => inner.writable_table(tx, project_id, branch_id, &name, &search_path),
                })?;
                let file = TableFile { project_id, branch_id, table_id: table.id, version: table.version };
                if !created {
                    inner.before_destruction(&ctx, &table, &file, super::schema::Destruction::DropTable)?;
                }
                inner.catalog.write(|tx| tx.set_aside(table.id, txn))?;
                Ok(Dropped {
                    label: format!("{}.{}", bucket.full_name(), table.name),
                    file,
                    mirrored: bucket.mirrors_bucket_id,
                    table,
                    _lock: lock.and_then(LockedTable::into_transaction_lock),
                })
            })
            .await?;
        transaction.dropped.push(dropped);
        Ok(true)
    }

    /// `ALTER TABLE … RENAME TO` inside `transaction`. A table or view the transaction created
    /// nobody else sees, so it is renamed at once; any other keeps its name for other sessions
    /// until COMMIT (the transaction finds it under the new one; a table's lock is taken as for
    /// a write). ROLLBACK brings the old names back.
    pub async fn rename_in(
        &self,
        transaction: &mut Transaction,
        ctx: SessionContext,
        name: TableName,
        search_path: Vec<String>,
        to: String,
    ) -> Result<()> {
        super::names::validate_table_name(&to)?;
        let (project_id, branch_id) = require_write(&ctx)?;
        let (name2, path2) = (name.clone(), search_path.clone());
        let is_committed_table = self
            .blocking(move |inner| inner.catalog.read(|tx| inner.find_table(tx, project_id, branch_id, &name2, &path2)))
            .await?
            .filter(|(_, t)| !transaction.holds_lock(t.id))
            .is_some();
        let lock = match is_committed_table {
            true => self
                .lock_target_for_transaction(
                    &ctx,
                    &name,
                    &search_path,
                    transaction.id,
                    &super::tables::statement_canceller().unwrap_or_default(),
                )
                .await?
                .into_transaction_lock(),
            false => None,
        };
        let created_tables: Vec<i64> =
            transaction.tables.iter().filter(|(_, p)| p.created).map(|(id, _)| *id).collect();
        let created_views: Vec<i64> = transaction.views.iter().map(|(id, _)| *id).collect();
        let txn = transaction.id;
        let renamed = self
            .blocking(move |inner| {
                inner.catalog.write(|tx| {
                    let table = inner.find_table(tx, project_id, branch_id, &name, &search_path)?;
                    let view = match &table {
                        Some(_) => None,
                        None => inner.find_view_on_path(tx, project_id, branch_id, &name, &search_path)?,
                    };
                    // (bucket, id, a table, created by this transaction, its name)
                    let (bucket, id, is_table, created, old) = match (table, view) {
                        (Some((bucket, t)), _) => {
                            let created = created_tables.contains(&t.id);
                            (bucket, t.id, true, created, t.name)
                        }
                        (_, Some((bucket, v))) => {
                            let created = created_views.contains(&v.id);
                            (bucket, v.id, false, created, v.name)
                        }
                        (None, None) => return Err(super::tables::table_not_found(&name)),
                    };
                    if bucket.branch_id != branch_id || bucket.source_bucket_id.is_some() {
                        return Err(Error::unsupported(
                            "inside a transaction block, a table or view of another branch or project cannot be renamed",
                        )
                        .with_sqlstate(SqlState::ActiveSqlTransaction)
                        .with_hint("rename it outside the transaction block"));
                    }
                    let renamed = TableName { schema: Some(bucket.full_name()), name: to.clone() };
                    if inner.find_table(tx, project_id, branch_id, &renamed, &[])?.is_some()
                        || inner.find_view(tx, project_id, branch_id, &renamed)?.is_some()
                        || tx.table_name_taken(bucket.id, &to)?
                    {
                        return Err(Error::already_exists(format!("relation \"{to}\" already exists"))
                            .with_sqlstate(SqlState::DuplicateTable));
                    }
                    match (is_table, created) {
                        (true, true) => tx.rename_table(id, &to)?,
                        (false, true) => tx.rename_view(id, &to)?,
                        (true, false) => tx.rename_aside(id, txn, &to)?,
                        (false, false) => tx.rename_view_aside(id, txn, &to)?,
                    }
                    let from = format!("{}.{old}", bucket.full_name());
                    Ok((id, is_table, created, from, format!("{}.{to}", bucket.full_name())))
                })
            })
            .await?;
        let (id, is_table, created, from, label) = renamed;
        if !created {
            transaction.renamed.push(Renamed { table: is_table, id, from, to: label, _lock: lock });
            return Ok(());
        }
        if is_table {
            if let Some(pending) = transaction.tables.get_mut(&id) {
                pending.label = label;
            }
        } else if let Some(view) = transaction.views.iter_mut().find(|(v, _)| *v == id) {
            view.1 = label;
        }
        Ok(())
    }

    /// The schemas a `ROLLBACK TO` brings back: each table's as the savepoint saw it (None:
    /// the committed one).
    async fn restore_schemas(&self, transaction: u64, schemas: Vec<(i64, Option<Schema>)>) -> Result<()> {
        if schemas.is_empty() {
            return Ok(());
        }
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                for (id, schema) in &schemas {
                    match schema {
                        Some((columns, primary_key)) => {
                            tx.set_pending_schema(*id, transaction, columns, primary_key)?
                        }
                        None => tx.clear_pending_schema(*id)?,
                    }
                }
                Ok(())
            })
        })
        .await
    }

    /// `ALTER TABLE` (other than `RENAME TO`) inside `transaction`: the table — its committed
    /// version, or the transaction's private one — is rebuilt into a new private version with
    /// the new columns (see [`Storage::alter_table`]), which the transaction alone sees until
    /// COMMIT. The table's lock is taken as for a write.
    pub async fn alter_table_in(
        &self,
        transaction: &mut Transaction,
        ctx: SessionContext,
        target: TableName,
        search_path: Vec<String>,
        changes: Vec<super::schema::Change>,
        canceller: &Canceller,
    ) -> Result<()> {
        let (txn, statement_canceller, session) = (transaction.id, canceller.clone(), ctx.clone());
        let build = move |inner: &Inner, table: &TableRecord, r: &Rebuild| {
            let (source, next) = (&r.source, &r.next);
            let (schema, mut outcome) =
                inner.alter_into(&session, table, (source, next), &changes, (txn, !r.created), &statement_canceller)?;
            outcome.affected.clear(); // the rows it copied are not rows written
            Ok((Some(schema), outcome))
        };
        self.rebuild_in(transaction, &ctx, (&target, &search_path), "alter_table", canceller, build).await.map(|_| ())
    }

    /// A write inside `transaction` that makes the table's next private version whole rather
    /// than changing it in place (`ALTER TABLE`, a full load): `build` fills `next` (from
    /// `source`, the version the transaction sees now, if it reads it) and answers the schema
    /// it gave the table (None: unchanged) and the outcome. The version replaced goes unless it
    /// is the committed one or a savepoint keeps it. The table's lock is taken as for a write.
    pub(super) async fn rebuild_in<B>(
        &self,
        transaction: &mut Transaction,
        ctx: &SessionContext,
        (target, search_path): (&TableName, &[String]),
        operation: &'static str,
        canceller: &Canceller,
        build: B,
    ) -> Result<WriteResult>
    where
        B: FnOnce(&Inner, &TableRecord, &Rebuild) -> Result<(Option<Schema>, WriteOutcome)> + Send + 'static,
    {
        let (project_id, _) = require_write(ctx)?;
        let table_id = self.writable_table_id(ctx, target, search_path).await?;
        transaction.room_for_a_version()?;
        let (pending, locked) = self.claim(transaction, ctx, table_id, (target, search_path), canceller).await?;
        // a savepoint may keep the private version being replaced
        let kept = pending.as_ref().is_some_and(|p| transaction.kept(&p.private));
        let snapshot = transaction.snapshot.as_ref().and_then(ReadSnapshot::view);
        let (ctx, target, search_path) = (ctx.clone(), target.clone(), search_path.to_vec());
        let (pending, result) = self
            .blocking_for(project_id, move |inner| {
                let how = RebuildHow { operation, kept, snapshot };
                Ok(rebuild_pending(inner, &ctx, (&target, &search_path), pending, locked, how, build))
            })
            .await?;
        if let Some(pending) = pending {
            transaction.tables.insert(pending.private.table_id, pending);
        }
        result
    }

    /// The id of the table a write in the session's branch would change.
    async fn writable_table_id(&self, ctx: &SessionContext, target: &TableName, search_path: &[String]) -> Result<i64> {
        let (project_id, branch_id) = require_write(ctx)?;
        let (name, path) = (target.clone(), search_path.to_vec());
        self.blocking(move |inner| {
            inner.catalog.read(|tx| inner.writable_table(tx, project_id, branch_id, &name, &path)).map(|(_, t)| t.id)
        })
        .await
    }

    /// Takes `table_id`'s pending state out of `transaction` to change it, or, on the
    /// transaction's first change of the table, its lock (held already if the transaction
    /// renamed it).
    async fn claim(
        &self,
        transaction: &mut Transaction,
        ctx: &SessionContext,
        table_id: i64,
        (target, search_path): (&TableName, &[String]),
        canceller: &Canceller,
    ) -> Result<(Option<Pending>, Option<LockedTable>)> {
        if let Some(pending) = transaction.tables.remove(&table_id) {
            return Ok((Some(pending), None));
        }
        let locked = match transaction.take_renamed_lock(table_id) {
            Some(lock) => LockedTable::already_held(lock, table_id, target, search_path),
            None => self.lock_target_for_transaction(ctx, target, search_path, transaction.id, canceller).await?,
        };
        Ok((None, Some(locked)))
    }

    /// `DROP SCHEMA` inside `transaction`: its views and tables are dropped as `DROP VIEW` and
    /// `DROP TABLE` in the transaction drop them, and the bucket is gone for the transaction
    /// alone until COMMIT deletes it (with `cascade`; otherwise it must be empty, `2BP01`).
    /// Buckets a dev branch reads from the default branch and linked buckets are dropped
    /// outside a block only. Answers false when `if_exists` found nothing.
    pub async fn drop_bucket_in(
        &self,
        transaction: &mut Transaction,
        ctx: SessionContext,
        full: String,
        (cascade, if_exists): (bool, bool),
        canceller: &Canceller,
    ) -> Result<bool> {
        let (project_id, branch_id) = require_write(&ctx)?;
        let name = full.clone();
        let found = self
            .blocking(move |inner| {
                inner.catalog.read(|tx| {
                    let outside_only = || {
                        Error::unsupported(format!(
                            "schema \"{name}\" is a linked bucket or the default branch's; it can be dropped outside a transaction block only"
                        ))
                        .with_sqlstate(SqlState::ActiveSqlTransaction)
                    };
                    let bucket = match inner.bucket_named(tx, project_id, branch_id, &name) {
                        Ok(bucket) => bucket,
                        Err(e) => {
                            let live = match super::names::parse_bucket(&name) {
                                Ok((stage, bare)) => inner.live_bucket(tx, project_id, branch_id, &stage, &bare)?,
                                Err(_) => None,
                            };
                            return match (live, if_exists) {
                                (Some(_), _) => Err(outside_only()),
                                (None, true) => Ok(None),
                                (None, false) => Err(e),
                            };
                        }
                    };
                    if bucket.source_bucket_id.is_some() || bucket.mirrors_bucket_id.is_some() {
                        return Err(outside_only());
                    }
                    if !tx.links_of(bucket.id)?.is_empty() {
                        return Err(Error::failed_precondition(format!(
                            "bucket \"{name}\" is linked by other projects; they must unlink it first"
                        ))
                        .with_sqlstate(SqlState::DependentObjectsStillExist));
                    }
                    let tables: Vec<String> = tx.tables_of(&[bucket.id])?.into_iter().map(|t| t.name).collect();
                    let views: Vec<String> = tx.views_of(&[bucket.id])?.into_iter().map(|v| v.name).collect();
                    if (!tables.is_empty() || !views.is_empty()) && !cascade {
                        return Err(Error::failed_precondition(format!(
                            "cannot drop schema \"{name}\" because it has {} table(s) and {} view(s); use DROP SCHEMA … CASCADE",
                            tables.len(),
                            views.len()
                        ))
                        .with_sqlstate(SqlState::DependentObjectsStillExist));
                    }
                    Ok(Some((bucket.id, tables, views)))
                })
            })
            .await?;
        let Some((bucket_id, tables, views)) = found else { return Ok(false) };
        let in_bucket = |name: String| TableName { schema: Some(full.clone()), name };
        for view in views {
            self.drop_view_in(transaction, ctx.clone(), in_bucket(view), vec![], true).await?;
        }
        for table in tables {
            self.drop_table_in(transaction, ctx.clone(), in_bucket(table), vec![], true, canceller).await?;
        }
        let txn = transaction.id;
        self.blocking(move |inner| inner.catalog.write(|tx| tx.mark_bucket_dropped_in(bucket_id, Some(txn)))).await?;
        transaction.dropped_buckets.push((bucket_id, full));
        Ok(true)
    }

    /// The bucket of `transaction`'s temporary tables (made on first use): a bucket of the
    /// session's branch named for the transaction, which only the transaction sees, as any
    /// bucket it creates; [`Storage::drop_temporary`] drops it before COMMIT.
    pub async fn temporary_bucket_of(&self, transaction: &mut Transaction, ctx: SessionContext) -> Result<String> {
        if let Some(bucket) = &transaction.temporary_bucket {
            return Ok(bucket.clone());
        }
        let name = format!("pg_temp_{}", transaction.id);
        self.create_bucket_in(transaction, ctx, "in".into(), name.clone(), false).await?;
        let full = format!("in.c-{name}");
        transaction.temporary_bucket = Some(full.clone());
        Ok(full)
    }

    /// Temporary tables end with their transaction block: dropped (with their bucket) in it,
    /// so that COMMIT publishes none of them.
    pub async fn drop_temporary(
        &self,
        transaction: &mut Transaction,
        ctx: SessionContext,
        canceller: &Canceller,
    ) -> Result<()> {
        let Some(bucket) = transaction.temporary_bucket.take() else { return Ok(()) };
        let id = transaction.id;
        let dropped = self.drop_bucket_in(transaction, ctx, bucket, (true, true), canceller);
        crate::catalog::as_transaction(Some(id), dropped).await.map(|_| ())
    }

    /// Buckets a `ROLLBACK TO` brings back.
    async fn restore_buckets(&self, buckets: Vec<i64>) -> Result<()> {
        if buckets.is_empty() {
            return Ok(());
        }
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                for id in &buckets {
                    tx.mark_bucket_dropped_in(*id, None)?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Undoes a transaction's views (after `ROLLBACK TO`).
    async fn undo_views(&self, views: Views) -> Result<()> {
        if views.is_empty() {
            return Ok(());
        }
        self.blocking(move |inner| inner.catalog.write(|tx| views.undo(tx))).await
    }

    /// `CREATE VIEW` inside `transaction`: the view exists for the transaction alone until it
    /// commits (see [`Storage::create_view`]).
    pub async fn create_view_in(
        &self,
        transaction: &mut Transaction,
        ctx: SessionContext,
        spec: super::ViewSpec,
        query: super::ExpandedQuery,
    ) -> Result<()> {
        let label = format!("{}.{}", spec.bucket, spec.name);
        if let Some(view) = self.create_view_for(ctx, spec, query, Some(transaction.id)).await? {
            transaction.views.push((view.id, label));
        }
        Ok(())
    }

    /// `DROP VIEW` inside `transaction`: set aside until COMMIT deletes it, as a table is.
    /// Answers false when `if_exists` found nothing.
    pub async fn drop_view_in(
        &self,
        transaction: &mut Transaction,
        ctx: SessionContext,
        name: TableName,
        search_path: Vec<String>,
        if_exists: bool,
    ) -> Result<bool> {
        let (project_id, branch_id) = require_write(&ctx)?;
        let txn = transaction.id;
        let dropped = self
            .blocking(move |inner| {
                inner.catalog.write(|tx| {
                    let found = inner.view_to_drop(tx, project_id, branch_id, &name, &search_path, if_exists)?;
                    let Some((bucket, view)) = found else { return Ok(None) };
                    if bucket.branch_id != branch_id {
                        return Err(Error::unsupported(
                            "a dev branch cannot drop a view it reads from the default branch inside a transaction block",
                        )
                        .with_hint("drop it outside the transaction block"));
                    }
                    tx.set_aside_view(view.id, txn)?;
                    Ok(Some((view.id, format!("{}.{}", bucket.full_name(), view.name))))
                })
            })
            .await?;
        let Some((id, label)) = dropped else { return Ok(false) };
        // a view this transaction created is simply gone at COMMIT, as any it set aside
        transaction.dropped_views.push((id, label));
        Ok(true)
    }

    /// Undoes a transaction's catalog changes: tables it created are deleted, tables it set
    /// aside are restored.
    async fn undo_catalog(&self, created: Vec<i64>, set_aside: Vec<i64>, buckets: Vec<i64>) -> Result<()> {
        if created.is_empty() && set_aside.is_empty() && buckets.is_empty() {
            return Ok(());
        }
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                // created ones first: one may hold the name of a dropped one
                for id in &created {
                    tx.delete_table(*id)?;
                }
                for id in &set_aside {
                    tx.restore_set_aside(*id)?;
                }
                for id in &buckets {
                    tx.delete_bucket(*id)?;
                }
                Ok(())
            })
        })
        .await
    }

    /// One write of `target` inside `transaction`: `work` writes the transaction's private
    /// version of the table (given the table, that file, and the private versions of every
    /// table the transaction wrote) in one engine transaction. The first write of a table
    /// takes its lock and makes its private version.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write_in_transaction<W>(
        &self,
        transaction: &mut Transaction,
        ctx: &SessionContext,
        target: &TableName,
        search_path: &[String],
        operation: &'static str,
        deletes_all: bool,
        canceller: &Canceller,
        work: W,
    ) -> Result<WriteResult>
    where
        W: FnOnce(&Inner, &TableRecord, &TableFile, &ReadView) -> Result<WriteOutcome> + Send + 'static,
    {
        let (project_id, _) = require_write(ctx)?;
        let table_id = self.writable_table_id(ctx, target, search_path).await?;
        // a savepoint keeps the version this write would change: write a copy of it
        let copy_first = transaction.tables.get(&table_id).is_some_and(|p| transaction.kept(&p.private));
        if copy_first || !transaction.tables.contains_key(&table_id) {
            transaction.room_for_a_version()?;
        }
        let (pending, locked) = self.claim(transaction, ctx, table_id, (target, search_path), canceller).await?;
        let overlay = transaction.read_view();
        let copy_budget = MAX_SAVEPOINT_COPY_BYTES - transaction.savepoint_copy_bytes;
        let (ctx, name, path) = (ctx.clone(), target.clone(), search_path.to_vec());
        let (pending, result, copied) = self
            .blocking_for(project_id, move |inner| {
                let how = WriteHow { operation, deletes_all, copy_first, copy_budget };
                Ok(write_pending(inner, &ctx, (&name, &path), pending, locked, how, &overlay, work))
            })
            .await?;
        if let Some(pending) = pending {
            transaction.tables.insert(pending.private.table_id, pending);
        }
        transaction.savepoint_copy_bytes += copied;
        result
    }

    /// An INSERT, UPDATE, DELETE or TRUNCATE inside `transaction` (see [`Storage::write_table`]).
    pub async fn write_table_in<R>(
        &self,
        transaction: &mut Transaction,
        ctx: SessionContext,
        request: super::WriteRequest,
        params: Vec<crate::engine::Param>,
        canceller: Canceller,
        render: R,
    ) -> Result<WriteResult>
    where
        R: FnOnce(&super::WriteTarget, &[String]) -> Result<(String, Vec<crate::engine::QueryCheck>)> + Send + 'static,
    {
        let (target, path) = (request.target.clone(), request.search_path.clone());
        let (operation, deletes_all) = (request.operation, request.deletes_all);
        let (session, statement_canceller) = (ctx.clone(), canceller.clone());
        let work = move |inner: &Inner, table: &TableRecord, file: &TableFile, overlay: &ReadView| {
            let reads = inner.catalog.read(|tx| inner.write_reads(tx, &session, &request, overlay))?;
            inner.run_write(file, table, &reads, &request, params, &statement_canceller, render)
        };
        self.write_in_transaction(transaction, &ctx, &target, &path, operation, deletes_all, &canceller, work).await
    }

    /// COMMIT: every table the transaction wrote switches to its private version, the tables it
    /// created become visible and the tables it dropped are deleted, in one catalog
    /// transaction, with one audit record each. The versions tables leave are retired as a
    /// full load's are (kept as history or by snapshots, otherwise deleted). A table that moved
    /// meanwhile (which its lock prevents, short of a restore) fails it with `40001`, and the
    /// whole transaction is rolled back.
    /// Answers the table files the block wrote, as they now are.
    pub async fn commit(&self, ctx: &SessionContext, mut transaction: Transaction) -> Result<Vec<WrittenFile>> {
        // versions only savepoints kept go first
        let (gone, work) = transaction.take_work();
        let snapshot = transaction.snapshot.take();
        let written: std::collections::HashSet<i64> =
            work.tables.keys().copied().chain(work.dropped.iter().map(|d| d.table.id)).collect();
        let reads = snapshot.as_ref().map(|s| s.reads_to_validate(&written)).unwrap_or_default();
        self.remove_files(gone).await;
        let committed = self.commit_work(ctx, work, reads).await;
        // the versions its snapshot kept go last (its own base versions among them)
        self.end_read_snapshot(snapshot).await;
        committed
    }

    /// `reads`: SERIALIZABLE, the (table, version) pairs it read that must not have moved.
    async fn commit_work(&self, ctx: &SessionContext, work: Work, reads: Vec<(i64, i64)>) -> Result<Vec<WrittenFile>> {
        if work.is_empty() {
            // a block that wrote nothing changes no answer another transaction got
            return Ok(vec![]);
        }
        let Work { tables, dropped, buckets, dropped_buckets, views } = work;
        let (project_id, branch_id) = require_write(ctx)?;
        let ctx = ctx.clone();
        self.blocking_for(project_id, move |inner| {
            let now = now_micros();
            let is_dropped = |id: &i64| dropped.iter().any(|d| d.table.id == *id);
            let committed = inner.catalog.write(|tx| {
                for (id, version) in &reads {
                    let now = tx.table(*id)?;
                    if now.as_ref().map(|t| t.version) != Some(*version) {
                        let name = now.map_or_else(|| format!("id {id}"), |t| format!("\"{}\"", t.name));
                        return Err(super::read_snapshots::read_write_conflict(&name));
                    }
                }
                for (id, full_name) in &buckets {
                    tx.commit_created_bucket(*id)?;
                    inner.audit(
                        tx,
                        &ctx,
                        Some(project_id),
                        "create_bucket",
                        ("bucket", full_name.clone()),
                        json!({}),
                    )?;
                }
                for (id, label) in &views.dropped {
                    tx.delete_view(*id)?;
                    inner.audit(tx, &ctx, Some(project_id), "drop_view", ("view", label.clone()), json!({}))?;
                }
                for (id, label) in &views.created {
                    tx.commit_created_view(*id)?;
                    inner.audit(tx, &ctx, Some(project_id), "create_view", ("view", label.clone()), json!({}))?;
                }
                for r in &views.renamed {
                    let (operation, kind) = if r.table { ("rename_table", "table") } else { ("rename_view", "view") };
                    if r.table {
                        tx.commit_renamed(r.id)?
                    } else {
                        tx.commit_renamed_view(r.id)?
                    }
                    inner.audit(tx, &ctx, Some(project_id), operation, (kind, r.from.clone()), json!({"to": r.to}))?;
                }
                // drops first: a table created in their place is audited after them
                for d in &dropped {
                    tx.delete_table(d.table.id)?;
                    // a branch's copy: the default branch's table stays hidden in the branch
                    if let Some(mirrored) = d.mirrored
                        && let Some(original) = tx.table_by_name(mirrored, &d.table.name)?
                    {
                        tx.hide(branch_id, "table", original.id)?;
                    }
                    inner.audit(tx, &ctx, Some(project_id), "drop_table", ("table", d.label.clone()), json!({}))?;
                }
                // its tables and views are gone by now; one another session put there meanwhile
                // would go with the bucket, so the COMMIT fails instead
                for (id, full_name) in &dropped_buckets {
                    if !tx.bucket_is_empty(*id)? {
                        return Err(Error::new(
                            ErrorKind::Conflict,
                            format!("schema \"{full_name}\" gained tables or views while this transaction dropped it; it was rolled back"),
                        )
                        .with_sqlstate(SqlState::SerializationFailure)
                        .with_hint("retry the transaction"));
                    }
                    tx.delete_bucket(*id)?;
                    inner.audit(tx, &ctx, Some(project_id), "drop_bucket", ("bucket", full_name.clone()), json!({}))?;
                }
                let mut left = Vec::with_capacity(tables.len());
                for (id, pending) in tables.iter().filter(|(id, _)| !is_dropped(id)) {
                    let current = tx.table(*id)?.filter(|t| t.version == pending.base.version);
                    let Some(current) = current else { return Err(changed_meanwhile(&pending.label)) };
                    if pending.created {
                        tx.commit_created(*id)?;
                    }
                    if pending.schema.is_some() {
                        tx.commit_pending_schema(*id)?;
                    }
                    tx.update_table_stats(*id, pending.private.version, pending.row_count, pending.byte_count, now)?;
                    // a table the block created is audited as created (with what it wrote)
                    let operation = if pending.created { "create_table" } else { "commit" };
                    inner.audit(
                        tx,
                        &ctx,
                        Some(project_id),
                        operation,
                        ("table", pending.label.clone()),
                        json!({"rows": pending.rows_written, "operations": pending.operations}),
                    )?;
                    left.push((current, *id));
                }
                Ok(left)
            });
            let left = match committed {
                Ok(left) => left,
                Err(e) => {
                    abandon(inner, Work { tables, dropped, buckets, dropped_buckets, views });
                    return Err(e);
                }
            };
            for (table, id) in &left {
                let pending = &tables[id];
                if !pending.created {
                    inner.retire_version(table, &pending.base);
                } else if pending.base != pending.private {
                    // a created table's first version was never committed
                    remove_file(inner, &pending.base);
                }
            }
            for d in &dropped {
                inner.discard_version(&d.table, &d.file);
                if let Some(pending) = tables.get(&d.table.id) {
                    for file in [&pending.base, &pending.private] {
                        if *file != d.file && (pending.created || *file == pending.private) {
                            remove_file(inner, file);
                        }
                    }
                }
            }
            metrics::counter!("duckstore_transactions_total", "outcome" => "commit").increment(1);
            // (a table whose schema the block changed: its record here is the one before)
            let written = left
                .iter()
                .filter(|(_, id)| tables[id].schema.is_none())
                .map(|(table, id)| WrittenFile::of(table, tables[id].private.clone()))
                .collect();
            Ok(written)
        })
        .await
    }

    /// ROLLBACK: the catalog as it was, the private versions deleted and the locks released.
    pub async fn rollback(&self, mut transaction: Transaction) {
        let (gone, work) = transaction.take_work();
        let snapshot = transaction.snapshot.take();
        self.remove_files(gone).await;
        self.discard(work).await;
        self.end_read_snapshot(snapshot).await;
    }

    /// A REPEATABLE READ or SERIALIZABLE block's snapshot, taken at its first statement: the
    /// version of every table the session can read, pinned until the block ends.
    pub async fn take_read_snapshot(&self, ctx: SessionContext, serializable: bool) -> Result<ReadSnapshot> {
        let place = if ctx.is_admin() { None } else { Some(super::tables::read_branch(&ctx)?) };
        self.blocking(move |inner| {
            let project = place.map(|(project, _)| project);
            inner.read_snapshots.of(project.unwrap_or(0)).take((project, serializable), || {
                // (the admin reads no table: nothing to pin)
                if place.is_none() {
                    return Ok(vec![]);
                }
                let snapshot = inner.catalog.read(|tx| inner.catalog_snapshot_here(tx, &ctx, place))?;
                // the project's own tables (a linked bucket's are another project's)
                let linked: std::collections::HashSet<i64> =
                    snapshot.buckets.iter().filter(|b| b.source_bucket_id.is_some()).map(|b| b.id).collect();
                Ok(snapshot
                    .tables
                    .iter()
                    .filter(|(b, _)| !linked.contains(b))
                    .map(|(_, t)| (t.id, t.version))
                    .collect())
            })
        })
        .await
    }

    /// Ends a block's snapshot: the versions it alone kept are removed.
    async fn end_read_snapshot(&self, snapshot: Option<ReadSnapshot>) {
        let Some(snapshot) = snapshot else { return };
        let due = snapshot.release();
        if due.is_empty() {
            return;
        }
        if let Err(e) = self
            .blocking(move |inner| {
                inner.remove_retired(due);
                Ok(())
            })
            .await
        {
            tracing::warn!(error = %e, "table versions a read snapshot kept are left for start-up recovery");
        }
    }

    /// Deletes private versions nothing refers to any more.
    async fn remove_files(&self, files: Vec<TableFile>) {
        if files.is_empty() {
            return;
        }
        let removed = self
            .blocking(move |inner| {
                for file in &files {
                    remove_file(inner, file);
                }
                Ok(())
            })
            .await;
        if let Err(e) = removed {
            tracing::warn!(error = %e, "a transaction's table versions are left for start-up recovery");
        }
    }

    async fn discard(&self, work: Work) {
        if work.is_empty() {
            return;
        }
        metrics::counter!("duckstore_transactions_total", "outcome" => "rollback").increment(1);
        if let Err(e) = self
            .blocking(move |inner| {
                abandon(inner, work);
                Ok(())
            })
            .await
        {
            tracing::warn!(error = %e, "a rolled-back transaction is left for start-up recovery");
        }
    }
}

/// What a transaction changed, taken out of it to commit or roll back.
struct Work {
    tables: BTreeMap<i64, Pending>,
    dropped: Vec<Dropped>,
    buckets: Vec<(i64, String)>,
    dropped_buckets: Vec<(i64, String)>,
    views: Views,
}

impl Work {
    fn is_empty(&self) -> bool {
        self.tables.is_empty()
            && self.dropped.is_empty()
            && self.buckets.is_empty()
            && self.dropped_buckets.is_empty()
            && self.views.is_empty()
    }
}

/// Views a transaction created and set aside (id, `bucket.view`), and the tables and views it
/// renamed.
#[derive(Default)]
struct Views {
    created: Vec<(i64, String)>,
    dropped: Vec<(i64, String)>,
    renamed: Vec<Renamed>,
}

impl Views {
    fn is_empty(&self) -> bool {
        self.created.is_empty() && self.dropped.is_empty() && self.renamed.is_empty()
    }

    /// Created views go, set-aside and renamed ones come back under their names (created
    /// first: one may hold the name of another).
    fn undo(&self, tx: &crate::catalog::CatalogTx<'_>) -> Result<()> {
        for (id, _) in &self.created {
            tx.delete_view(*id)?;
        }
        for (id, _) in &self.dropped {
            tx.restore_set_aside_view(*id)?;
        }
        for r in &self.renamed {
            if r.table { tx.restore_set_aside(r.id)? } else { tx.restore_set_aside_view(r.id)? }
        }
        Ok(())
    }
}

/// Rolls a transaction back: tables it dropped come back and tables it created go (in the
/// catalog first), then its private versions are deleted (their readers done first); the locks
/// go last. What fails here start-up recovery finishes.
fn abandon(inner: &Inner, work: Work) {
    let Work { tables, dropped, buckets, dropped_buckets, views } = work;
    let undone = inner.catalog.write(|tx| {
        for (id, _) in &dropped_buckets {
            tx.mark_bucket_dropped_in(*id, None)?;
        }
        // created ones first: one may hold the name of a dropped or renamed one
        for (id, pending) in &tables {
            if pending.created {
                tx.delete_table(*id)?;
            } else if pending.schema.is_some() {
                tx.clear_pending_schema(*id)?;
            }
        }
        views.undo(tx)?;
        for d in &dropped {
            tx.restore_set_aside(d.table.id)?;
        }
        for (id, _) in &buckets {
            tx.delete_bucket(*id)?;
        }
        Ok(())
    });
    if let Err(e) = undone {
        tracing::error!(error = %e, "a rolled-back transaction's catalog changes stay until the next start");
        return;
    }
    for pending in tables.values() {
        remove_file(inner, &pending.private);
        if pending.created && pending.base != pending.private {
            remove_file(inner, &pending.base);
        }
    }
    drop((tables, dropped));
}

fn remove_file(inner: &Inner, file: &TableFile) {
    if let Err(e) = inner.engine.remove_table_file(file) {
        tracing::warn!(error = %e, table = file.table_id, "a transaction's table version was not removed yet");
    }
}

/// The blocking part of [`Storage::write_in_transaction`]. Answers the table's pending state
/// (kept even when the statement fails: the transaction still holds what it wrote before), the
/// statement's outcome and the bytes a savepoint's copy took.
#[allow(clippy::too_many_arguments)]
fn write_pending<W>(
    inner: &Inner,
    ctx: &SessionContext,
    (name, search_path): (&TableName, &[String]),
    pending: Option<Pending>,
    locked: Option<LockedTable>,
    how: WriteHow,
    overlay: &ReadView,
    work: W,
) -> (Option<Pending>, Result<WriteResult>, i64)
where
    W: FnOnce(&Inner, &TableRecord, &TableFile, &ReadView) -> Result<WriteOutcome>,
{
    let resolved = inner.catalog.read(|tx| {
        let (project_id, branch_id) = require_write(ctx)?;
        match &locked {
            Some(locked) => locked.resolve_in(inner, tx, ctx),
            None => inner.writable_table(tx, project_id, branch_id, name, search_path),
        }
    });
    let (bucket, table) = match resolved {
        Ok(found) => found,
        Err(e) => return (pending, Err(e), 0),
    };
    let mut pending = match (pending, locked) {
        (Some(pending), _) if pending.private.table_id == table.id => pending,
        (Some(pending), _) => return (Some(pending), Err(super::tables::table_replaced(name)), 0),
        (None, Some(_)) if let Some(Err(e)) = overlay.snapshot.as_ref().map(|s| s.check_write(&table)) => {
            return (None, Err(e), 0);
        }
        (None, Some(locked)) => match start_pending(inner, ctx, &bucket, &table, locked) {
            Ok(pending) => pending,
            Err(e) => return (None, Err(e), 0),
        },
        (None, None) => {
            return (None, Err(Error::internal("writing in a transaction", "the table is not locked")), 0);
        }
    };
    let WriteHow { operation, deletes_all, copy_first, copy_budget } = how;
    let mut copied = 0;
    if copy_first {
        let bytes = inner.engine.file_bytes(&pending.private);
        if bytes > copy_budget {
            let e = Error::new(
                ErrorKind::ResourceExhausted,
                format!(
                    "a transaction's savepoints may keep at most {} GiB of table copies",
                    MAX_SAVEPOINT_COPY_BYTES >> 30
                ),
            )
            .with_sqlstate(SqlState::ProgramLimitExceeded)
            .with_hint("RELEASE savepoints, or COMMIT first");
            return (Some(pending), Err(e), 0);
        }
        match copy_private(inner, &pending.private) {
            Ok(copy) => {
                pending.private = copy;
                copied = bytes;
            }
            Err(e) => return (Some(pending), Err(e), 0),
        }
    }
    if deletes_all
        && let Err(e) = inner.before_destruction(ctx, &table, &pending.base, super::schema::Destruction::DeleteAll)
    {
        return (Some(pending), Err(e), copied);
    }
    let private = pending.private.clone();
    let mut overlay = overlay.clone();
    overlay.written.insert(table.id, private.clone());
    let outcome = work(inner, &table, &private, &overlay);
    let result = outcome.map(|mut outcome| {
        let affected = outcome.affected.first().copied().unwrap_or(0);
        pending.row_count = outcome.row_count;
        pending.byte_count = outcome.byte_count;
        pending.rows_written += affected as u64;
        if !pending.operations.contains(&operation) {
            pending.operations.push(operation);
        }
        metrics::counter!("duckstore_rows_written_total", "operation" => operation).increment(affected as u64);
        WriteResult { affected, row_count: outcome.row_count, returned: outcome.returned.take(), written: None }
    });
    (Some(pending), result, copied)
}

/// How [`rebuild_pending`] writes.
struct RebuildHow {
    operation: &'static str,
    /// A savepoint keeps the table's private version: it stays when the rebuild replaces it.
    kept: bool,
    /// REPEATABLE READ: the first change of a table checks it did not change since.
    snapshot: Option<SnapshotView>,
}

/// The versions a rebuild in a transaction reads and writes (see [`Storage::rebuild_in`]).
pub(super) struct Rebuild {
    /// The version the transaction sees now: its private one, or the committed one.
    pub source: TableFile,
    /// The new private version to fill (no file yet).
    pub next: TableFile,
    /// The table was created by the transaction.
    pub created: bool,
    /// The transaction changed the table's schema: its record is not the committed file's.
    pub altered: bool,
}

/// The blocking part of [`Storage::rebuild_in`]: the table built into a new private version.
/// Answers the table's pending state (as it was when the build fails) and the outcome.
fn rebuild_pending<B>(
    inner: &Inner,
    ctx: &SessionContext,
    (name, search_path): (&TableName, &[String]),
    pending: Option<Pending>,
    locked: Option<LockedTable>,
    how: RebuildHow,
    build: B,
) -> (Option<Pending>, Result<WriteResult>)
where
    B: FnOnce(&Inner, &TableRecord, &Rebuild) -> Result<(Option<Schema>, WriteOutcome)>,
{
    let resolved = inner.catalog.read(|tx| {
        let (project_id, branch_id) = require_write(ctx)?;
        match &locked {
            Some(locked) => locked.resolve_in(inner, tx, ctx),
            None => inner.writable_table(tx, project_id, branch_id, name, search_path),
        }
    });
    let (bucket, table) = match resolved {
        Ok(found) => found,
        Err(e) => return (pending, Err(e)),
    };
    if let Some(p) = &pending
        && p.private.table_id != table.id
    {
        return (pending, Err(super::tables::table_replaced(name)));
    }
    if pending.is_none()
        && let Some(Err(e)) = how.snapshot.as_ref().map(|s| s.check_write(&table))
    {
        return (None, Err(e));
    }
    let base = match &pending {
        Some(p) => p.base.clone(),
        None => match require_write(ctx) {
            Ok((project_id, branch_id)) => {
                TableFile { project_id, branch_id, table_id: table.id, version: table.version }
            }
            Err(e) => return (pending, Err(e)),
        },
    };
    let source = pending.as_ref().map_or(&base, |p| &p.private).clone();
    let next =
        match room_on_disk(inner, inner.engine.file_bytes(&source)).and_then(|()| reserve_version(inner, table.id)) {
            Ok(version) => TableFile { version, ..base.clone() },
            Err(e) => return (pending, Err(e)),
        };
    let created = pending.as_ref().is_some_and(|p| p.created);
    let altered = pending.as_ref().is_some_and(|p| p.schema.is_some());
    let rebuild = Rebuild { source, next: next.clone(), created, altered };
    let (schema, outcome) = match build(inner, &table, &rebuild) {
        Ok(done) => done,
        Err(e) => {
            remove_file(inner, &next);
            return (pending, Err(e));
        }
    };
    let undo = |message: &str| {
        remove_file(inner, &next);
        if schema.is_some() {
            let _ = inner.catalog.write(|tx| tx.clear_pending_schema(table.id));
        }
        Error::internal("writing in a transaction", message)
    };
    let mut pending = match (pending, locked) {
        (Some(mut pending), _) => {
            let replaced = std::mem::replace(&mut pending.private, next);
            // the version replaced goes unless it is the base or a savepoint keeps it
            if replaced != pending.base && !how.kept {
                remove_file(inner, &replaced);
            }
            pending
        }
        (None, Some(locked)) => match locked.into_transaction_lock() {
            Some(lock) => Pending::first_change(lock, &bucket, &table, base, next),
            None => return (None, Err(undo("the table's lock is not the transaction's"))),
        },
        (None, None) => return (None, Err(undo("the table is not locked"))),
    };
    let affected = outcome.affected.first().copied().unwrap_or(0);
    pending.row_count = outcome.row_count;
    pending.byte_count = outcome.byte_count;
    pending.rows_written += affected as u64;
    if schema.is_some() {
        pending.schema = schema;
    }
    if !pending.operations.contains(&how.operation) {
        pending.operations.push(how.operation);
    }
    (Some(pending), Ok(WriteResult { affected, row_count: outcome.row_count, returned: None, written: None }))
}

/// What kind of write [`write_pending`] makes.
struct WriteHow {
    operation: &'static str,
    deletes_all: bool,
    /// A savepoint keeps the table's private version: copy it first.
    copy_first: bool,
    /// Bytes such a copy may take.
    copy_budget: i64,
}

/// Refuses a copy of `bytes` that would leave the disk every project shares nearly full: less
/// than a twentieth of it, or 1 GiB, free (`53100`).
fn room_on_disk(inner: &Inner, bytes: i64) -> Result<()> {
    let path = std::ffi::CString::new(inner.engine.data_dir().as_os_str().as_encoded_bytes())
        .map_err(|e| Error::internal("checking free disk space", e))?;
    // SAFETY: a NUL-terminated path and a zeroed statvfs for the call to fill.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return Ok(()); // cannot tell: the copy itself fails on a full disk
    }
    let unit = stat.f_frsize as u64;
    let (free, total) = (stat.f_bavail as u64 * unit, stat.f_blocks as u64 * unit);
    let reserve = (total / 20).max(1 << 30);
    if free.saturating_sub(bytes.max(0) as u64) >= reserve {
        return Ok(());
    }
    Err(Error::new(ErrorKind::ResourceExhausted, "not enough free disk for a transaction's copy of a table")
        .with_sqlstate(SqlState::DiskFull)
        .with_hint("write the table outside a transaction block, or free disk space"))
}

/// A new version number for `table_id`, never used before (reserved in the catalog).
fn reserve_version(inner: &Inner, table_id: i64) -> Result<i64> {
    inner.catalog.write(|tx| {
        let version = tx.next_version(table_id)?;
        tx.reserve_version(table_id, version)?;
        Ok(version)
    })
}

/// A copy of a private version under a new number, for the transaction to write on.
fn copy_private(inner: &Inner, private: &TableFile) -> Result<TableFile> {
    room_on_disk(inner, inner.engine.file_bytes(private))?;
    let copy = TableFile { version: reserve_version(inner, private.table_id)?, ..private.clone() };
    inner.engine.copy_table_file(private, &copy)?;
    Ok(copy)
}

/// A table's first write in a transaction: its committed version copied to a version number
/// never used before (reserved in the catalog), which the transaction then writes.
fn start_pending(
    inner: &Inner,
    ctx: &SessionContext,
    bucket: &crate::catalog::BucketRecord,
    table: &TableRecord,
    locked: LockedTable,
) -> Result<Pending> {
    let (project_id, branch_id) = require_write(ctx)?;
    let base = TableFile { project_id, branch_id, table_id: table.id, version: table.version };
    room_on_disk(inner, inner.engine.file_bytes(&base))?;
    let version = reserve_version(inner, table.id)?;
    let private = TableFile { version, ..base.clone() };
    inner.engine.copy_table_file(&base, &private)?;
    let lock = locked.into_transaction_lock().ok_or_else(|| {
        let _ = inner.engine.remove_table_file(&private);
        Error::internal("writing in a transaction", "the table's lock is not the transaction's")
    })?;
    metrics::counter!("duckstore_copy_on_write_total", "reason" => "transaction").increment(1);
    Ok(Pending::first_change(lock, bucket, table, base, private))
}
